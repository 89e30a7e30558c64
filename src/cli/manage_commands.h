#pragma once

namespace dram::cli {

// `dram db …`, `dram alias …` and `dram query …`: clients of a running server's admin port, the
// way kubectl talks to its API server. The admin URL comes from --admin or DRAM_ADMIN_URL
// (default http://127.0.0.1:8081), the token from DRAM_ADMIN_TOKEN. Exit codes: 0 done,
// 1 the server refused or failed (its error is printed), 2 bad usage or no server.
int DbCommand(int argc, char** argv);
int AliasCommand(int argc, char** argv);
int QueryCommand(int argc, char** argv);
int AnalyzeCommand(int argc, char** argv);
// `dram cluster status|where|drain`: a cluster seen and steered through any member's admin port.
int ClusterCommand(int argc, char** argv);

}  // namespace dram::cli
