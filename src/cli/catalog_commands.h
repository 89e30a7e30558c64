#pragma once

namespace dram::cli {

// dram apply DIR --catalog URI [--dry-run] [--message M]
int ApplyCommand(int argc, char** argv);
// dram catalog log|show|diff|restore|verify|gc|export|import|checkout --catalog URI
int CatalogCommand(int argc, char** argv);

}  // namespace dram::cli
