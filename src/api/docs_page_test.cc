#include "api/docs_page.h"

#include <gtest/gtest.h>

#include "api/docs_examples.h"

namespace dram::api {
namespace {

TEST(DocsPageTest, EmbedsTheDocumentSoNoTextInItEndsTheElement) {
  const std::string document = R"({"info":{"description":"</script><script>alert(1)</script> <!-- a < b"}})";
  std::string html = DocsHtml(document, "docs/assets/redoc-1.js", "docs/assets/init-2.js");
  size_t start = html.find(R"(<script type="application/json" id="openapi">)");
  ASSERT_NE(start, std::string::npos);
  size_t end = html.find("</script>", start);
  std::string embedded = html.substr(start, end - start);
  EXPECT_EQ(embedded.find('<', 1), std::string::npos) << embedded;
  EXPECT_NE(embedded.find(R"(\u003c/script>\u003cscript>alert(1)\u003c/script> \u003c!-- a \u003c b)"), std::string::npos);
  EXPECT_NE(html.find(R"(<script src="docs/assets/redoc-1.js"></script>)", end), std::string::npos);
  EXPECT_NE(html.find(R"(<script src="docs/assets/init-2.js"></script>)", end), std::string::npos);
}

TEST(DocsPageTest, ServesThePageAndItsAssetsOnly) {
  struct Case {
    const char* path;
    bool served;
  } cases[] = {{"/docs", true}, {"/docs/assets/redoc-0123456789abcdef.js", true}, {"/docs/", true},
               {"/docsx", false}, {"/doc", false}, {"/v1/docs", false}, {"/", false}};
  for (const auto& c : cases) EXPECT_EQ(DocsPage::Serves(c.path), c.served) << c.path;
}

TEST(DocsExamplesTest, ExampleRequestsFillOnlyValuesEveryCallerMayUse) {
  auto param = [](const char* name, ParamType type, bool required) {
    ParamSpec spec;
    spec.name = name;
    spec.type = type;
    spec.required = required;
    return spec;
  };
  ParamSpec channel = param("channel", ParamType::kEnum, true);
  channel.enum_values = {"web shop", "app"};
  struct Case {
    std::vector<ParamSpec> params;
    int64_t max_limit;
    const char* query;
    const char* unfilled;
  } cases[] = {
      {{}, 1000, "limit=2", ""},
      {{}, 1, "limit=1", ""},
      {{param("from", ParamType::kDate, false), param("region", ParamType::kString, false)}, 1000, "limit=2", ""},
      {{channel}, 1000, "limit=2&channel=web%20shop", ""},
      {{param("open", ParamType::kBoolean, true)}, 1000, "limit=2&open=true", ""},
      {{param("tenant", ParamType::kString, true), param("day", ParamType::kDate, true)}, 1000,
       "limit=2&tenant=${TENANT}&day=${DAY}", "tenant"},
      {{param("ids", ParamType::kInteger, true)}, 1000, "limit=2&ids=${IDS}", "ids"},
  };
  for (const auto& c : cases) {
    EndpointSpec spec;
    spec.params = c.params;
    spec.max_limit = c.max_limit;
    ExampleRequest request = MakeExampleRequest(spec);
    EXPECT_EQ(request.query, c.query);
    EXPECT_EQ(request.unfilled, c.unfilled) << c.query;
  }
}

}  // namespace
}  // namespace dram::api
