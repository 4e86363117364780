// The one door from the core to zod, the schema library every step and configuration schema is built with.
export { z } from 'zod';
