// Helpers for the translator tests: protos from text format, Any packing, a fake terminal
// network filter factory and a NetworkFilterLookup that translates HCM / tcp_proxy.
#pragma once

#include <google/protobuf/text_format.h>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "xds/translate/hcm_translate.h"
#include "xds/translate/listener_translate.h"
#include "xds/translate/proto_types.h"
#include "xds/translate/tcp_proxy_translate.h"

namespace pilotfish::xds::testing {

template <typename T>
T ParseText(const std::string& text) {
  T message;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &message)) << text;
  return message;
}

// A terminal factory that remembers what it was built from.
class FakeFactory : public net::NetworkFilterFactory {
 public:
  explicit FakeFactory(std::string kind) : kind_(std::move(kind)) {}
  void OnNewConnection(server::Worker&, net::ConnectionPtr,
                       const net::ListenerInfo&) const override {}
  const std::string& kind() const { return kind_; }

 private:
  std::string kind_;
};

// Translates HCM and tcp_proxy (so their errors surface) and returns a FakeFactory.
inline NetworkFilterLookup TranslatingLookup(std::vector<std::string>* warnings) {
  return [warnings](const std::string& name, const google::protobuf::Any& any,
                    const std::string& path, const std::vector<NetworkFilterRef>&)
             -> absl::StatusOr<net::NetworkFilterFactorySharedPtr> {
    const std::string config_path = path + ".typed_config";
    if (TypeNameOf(any) == kHcmType) {
      envoy::extensions::filters::network::http_connection_manager::v3::HttpConnectionManager hcm;
      if (absl::Status s = UnpackAny(any, &hcm, config_path); !s.ok()) return s;
      auto translated = TranslateHcm(hcm, config_path, warnings);
      if (!translated.ok()) return translated.status();
      return std::make_shared<FakeFactory>("hcm");
    }
    if (TypeNameOf(any) == kTcpProxyType) {
      envoy::extensions::filters::network::tcp_proxy::v3::TcpProxy tcp;
      if (absl::Status s = UnpackAny(any, &tcp, config_path); !s.ok()) return s;
      auto translated = TranslateTcpProxy(tcp, config_path, warnings);
      if (!translated.ok()) return translated.status();
      return std::make_shared<FakeFactory>("tcp_proxy");
    }
    return absl::InvalidArgumentError(path + ": unexpected filter " + name);
  };
}

}  // namespace pilotfish::xds::testing
