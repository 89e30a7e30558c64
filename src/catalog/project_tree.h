#pragma once

#include <set>
#include <string>
#include <vector>

#include "catalog/catalog_document.h"
#include "store/object_store.h"

namespace dram::catalog {

// A project directory ↔ a catalog document.
//
// Reads the project in `dir` into a document (paths absolute or relative to the working
// directory, as the project loader gives them): the YAML (dram.yml, datasets/*.yml,
// endpoints/*.yml) and `extra_text_files` (the keys file) as text, `data_files` by SHA-256.
// Every file must lie inside `dir`; a path outside is InvalidArgument (such data belongs in a
// store: give the dataset a URI). Files are read whole (project data is meant to be small;
// large data is a `source:` in a store).
Result<CatalogDocument> ReadProject(const std::string& dir, const std::vector<std::string>& extra_text_files,
                                    const std::vector<std::string>& data_files);

// Uploads the data objects `document` references that `newest` does not (create-only: a
// concurrent upload of the same content is as good as ours), reading them from `dir`; returns
// their digests. Must finish before the commit that references them; inside the commit's edit,
// RenewUnpinned covers what a newer version dropped meanwhile.
Result<std::set<std::string>> UploadData(store::ObjectStore& store, const std::string& dir, const CatalogDocument& document,
                                         const CatalogDocument& newest);

// Reads a data file of the project in `dir` again (for RenewUnpinned).
Result<std::string> ReadDataFile(const std::string& dir, const std::string& path);

// Makes `tree_dir` hold exactly the project of `document`: text files written, data files
// hard-linked from a local content cache `objects_dir` (fetched from the store and checked
// against their SHA-256 when missing there), every other file removed. Files that are already
// right are not touched (same inode, same mtime), so a dataset whose data did not change keeps
// its materialized snapshot.
Status SyncTree(store::ObjectStore& store, const CatalogDocument& document, const std::string& tree_dir,
                const std::string& objects_dir);

}  // namespace dram::catalog
