// Column equality for the tests (header-only, test code only): two columns are the same when
// their names, dtypes, per-row shapes, row counts and every value agree; floating values agree
// when both are NaN or equal with the same sign (a -0 written as +0 is a difference); strings
// agree exactly. Failures say which column and element.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <type_traits>
#include <variant>

#include "core/table/table.hpp"

namespace dhs::test {

inline ::testing::AssertionResult same_column(const Column& a, const Column& b) {
    if (a.name() != b.name() || a.dtype() != b.dtype() || a.shape() != b.shape() || a.num_rows() != b.num_rows())
        return ::testing::AssertionFailure() << "column " << a.name() << " (" << dtype_name(a.dtype()) << ", "
                                             << a.num_rows() << " rows) vs " << b.name() << " ("
                                             << dtype_name(b.dtype()) << ", " << b.num_rows() << " rows)";
    return std::visit(
        [&](const auto& va) -> ::testing::AssertionResult {
            using E = typename std::decay_t<decltype(va)>::value_type;
            const auto& vb = std::get<std::decay_t<decltype(va)>>(b.storage());
            for (std::size_t i = 0; i < va.size(); ++i) {
                bool eq;
                if constexpr (std::is_floating_point_v<E>)
                    eq = (std::isnan(va[i]) && std::isnan(vb[i])) ||
                         (va[i] == vb[i] && std::signbit(va[i]) == std::signbit(vb[i]));
                else
                    eq = va[i] == vb[i];
                if (!eq) {
                    if constexpr (std::is_same_v<E, std::string>)
                        return ::testing::AssertionFailure() << a.name() << "[" << i << "]: '" << va[i] << "' vs '"
                                                             << vb[i] << "'";
                    else
                        return ::testing::AssertionFailure() << a.name() << "[" << i << "]: " << +va[i] << " vs "
                                                             << +vb[i];
                }
            }
            return ::testing::AssertionSuccess();
        },
        a.storage());
}

}  // namespace dhs::test
