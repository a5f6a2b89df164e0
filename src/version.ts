/** Vigia's version, as the server metadata (`GET /v2`) and the traces report it. */
export const VERSION = '0.1.0';
