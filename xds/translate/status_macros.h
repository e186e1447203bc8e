// Early-return helpers for absl::Status / absl::StatusOr in the config translators.
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define XDS_RETURN_IF_ERROR(expr)                               \
  do {                                                          \
    if (absl::Status xds_status_ = (expr); !xds_status_.ok()) { \
      return xds_status_;                                       \
    }                                                           \
  } while (0)

#define XDS_STATUS_CONCAT_INNER(a, b) a##b
#define XDS_STATUS_CONCAT(a, b) XDS_STATUS_CONCAT_INNER(a, b)

// `lhs` may be a declaration: XDS_ASSIGN_OR_RETURN(auto x, Foo());
#define XDS_ASSIGN_OR_RETURN(lhs, expr) \
  XDS_ASSIGN_OR_RETURN_IMPL(XDS_STATUS_CONCAT(xds_statusor_, __LINE__), lhs, expr)
#define XDS_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.ok()) return tmp.status();             \
  lhs = std::move(*tmp)
