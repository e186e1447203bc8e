// pf_config_dump_check: parses JSON from stdin as an Envoy message (envoy.admin.v3.ConfigDump, or
// --type NAME, e.g. google.protobuf.Any or envoy.admin.v3.Clusters), rejecting unknown fields,
// and prints it back as canonical JSON (proto field names, one line). Integration tests (Python,
// no protobuf) use it to check that an admin answer is a valid message and to compare resources
// with what was pushed. Exit status 1 with the parser's error when the input does not parse.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"
#include "xds/translate/proto_types.h"

int main(int argc, char** argv) {
  std::string type = "envoy.admin.v3.ConfigDump";
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (arg == "--type" && i + 1 < argc) {
      type = argv[++i];
    } else {
      std::fprintf(stderr, "usage: pf_config_dump_check [--type MESSAGE_NAME] < message.json\n");
      return 2;
    }
  }
  pilotfish::xds::EnsureEnvoyProtosLinked();
  const google::protobuf::Descriptor* descriptor =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(type);
  if (descriptor == nullptr) {
    std::fprintf(stderr, "pf_config_dump_check: unknown message type %s\n", type.c_str());
    return 2;
  }
  std::unique_ptr<google::protobuf::Message> message(
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(descriptor)->New());
  const std::string input((std::istreambuf_iterator<char>(std::cin)),
                          std::istreambuf_iterator<char>());
  google::protobuf::util::JsonParseOptions parse;
  parse.ignore_unknown_fields = false;
  if (auto s = google::protobuf::util::JsonStringToMessage(input, message.get(), parse); !s.ok()) {
    std::fprintf(stderr, "pf_config_dump_check: not a valid %s: %s\n", type.c_str(),
                 s.ToString().c_str());
    return 1;
  }
  google::protobuf::util::JsonPrintOptions print;
  print.preserve_proto_field_names = true;
  std::string output;
  if (auto s = google::protobuf::util::MessageToJsonString(*message, &output, print); !s.ok()) {
    std::fprintf(stderr, "pf_config_dump_check: cannot print: %s\n", s.ToString().c_str());
    return 1;
  }
  std::cout << output << "\n";
  return 0;
}
