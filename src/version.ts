/** The package's version: the MCP server's `serverInfo.version` and `wsd --version` (a test keeps it equal to package.json's). */
export const VERSION = "0.1.0";
