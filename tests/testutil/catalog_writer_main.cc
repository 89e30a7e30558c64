// A catalog writer for the no-lost-update test: commits M edits, each adding one file named
// after this writer and the edit's number, to the catalog at URI (credentials from the
// environment). Several of these run at once as separate processes.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "catalog/catalog.h"
#include "store/store_uri.h"

int main(int argc, char** argv) {
  if (argc != 4) return std::fputs("usage: catalog_writer URI WRITER_ID EDITS\n", stderr), 2;
  auto store = dram::store::OpenStore(argv[1]);
  if (!store.ok()) return std::fprintf(stderr, "%s\n", store.status().ToString().c_str()), 1;
  dram::catalog::Catalog catalog(**store);
  const std::string writer = argv[2];
  const int edits = std::atoi(argv[3]);
  for (int i = 0; i < edits; ++i) {
    const std::string name = "edits/" + writer + "-" + std::to_string(i);
    auto version = catalog.Update(
        [&](dram::catalog::CatalogDocument& document) {
          document.files[name] = writer;
          return dram::Status::Ok();
        },
        name);
    if (!version.ok()) return std::fprintf(stderr, "%s: %s\n", name.c_str(), version.status().ToString().c_str()), 1;
  }
  return 0;
}
