/** A configuration problem, with a message that names the file and field. */
export class ConfigError extends Error {}
