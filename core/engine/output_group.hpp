// Typed output groups: a stage declares each column of a group once (name, element type,
// per-row shape, unit, description) and gets a typed handle for it; process() fills the rows
// of a unit through those handles. A column that was never declared has no handle, so it cannot
// be filled (a compile error); a declared column left unfilled makes GroupRows::finish() throw,
// naming the group and the column, so the stage's first unit (and so every test of the stage)
// fails instead of a file with a column missing. Knows nothing of lenses.
//
//   struct Rows : engine::GroupSchema {
//       engine::Col<double> ra = add<double>("ra", "deg", "right ascension");
//       engine::Col<bool> ok = add<bool>("ok", "", "the row is usable");
//       Rows() : GroupSchema("rows", "one row per target") {}
//   };
//   Rows s;                        // in output_groups(): return {s.group()};
//   engine::GroupRows r(s, n);     // in process():
//   r.fill(s.ra, [&](std::size_t i) { return targets[i].ra; });
//   r.set(s.ok, std::move(flags));
//   out[s.name()] = std::move(r).finish();
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "core/engine/stage.hpp"
#include "core/table/table.hpp"

namespace dhs::engine {

/// @brief The C++ element type a column of declared type T stores (bool is stored as uint8 0/1).
template <class T>
using stored_t = std::conditional_t<std::is_same_v<T, bool>, std::uint8_t, T>;

/// @brief The DType of a column declared with element type T.
template <class T>
constexpr DType declared_dtype() {
    if constexpr (std::is_same_v<T, bool>) return DType::boolean;
    else return dtype_of<T>();
}

/// @brief Handle to one declared column of a GroupSchema. Default-constructed: bound to no
/// column (a column declared only under a condition); filling through it throws.
template <class T>
class Col {
public:
    Col() = default;
    std::size_t index() const noexcept { return index_; }
    bool declared() const noexcept { return index_ != npos; }

private:
    friend class GroupSchema;
    static constexpr std::size_t npos = std::numeric_limits<std::size_t>::max();
    explicit Col(std::size_t index) : index_(index) {}
    std::size_t index_ = npos;
};

/// @brief The declaration of one output group: the engine's OutputGroup, built column by column.
class GroupSchema {
public:
    GroupSchema(std::string name, std::string description);

    /// @brief Declares a column at the end. `shape` is the per-row shape ({} for a scalar).
    /// @throws dhs::Error if the name is declared already.
    template <class T>
    Col<T> add(std::string name, std::string unit, std::string description, std::vector<std::size_t> shape = {}) {
        Column c(std::move(name), declared_dtype<T>(), 0, std::move(shape));
        return Col<T>(add_column(std::move(c), std::move(unit), std::move(description)));
    }
    /// @brief Sets an extra HDF5 attribute of a declared column's dataset.
    template <class T>
    void set_column_attribute(Col<T> c, const std::string& key, std::string value) {
        group_.column_attributes[column_name(c.index())][key] = std::move(value);
    }

    const std::string& name() const noexcept { return group_.name; }
    /// @brief What output_groups() returns for this group (zero-row columns, attributes).
    const OutputGroup& group() const noexcept { return group_; }

private:
    std::size_t add_column(Column column, std::string unit, std::string description);
    const std::string& column_name(std::size_t index) const;
    OutputGroup group_;
};

/// @brief The rows of one unit for one group, filled column by column through the schema's
/// handles. A column's storage is made when it is first filled through values() or fill();
/// set() moves the caller's vector in without a copy.
class GroupRows {
public:
    GroupRows(const GroupSchema& schema, std::size_t rows);

    std::size_t num_rows() const noexcept { return rows_; }

    /// @brief The column's elements (rows x cell, row-major), to write in place; marks it filled.
    template <class T>
    std::span<stored_t<T>> values(Col<T> c) {
        Column& col = take(c.index());
        if constexpr (std::is_same_v<T, std::string>) return {col.mutable_strings().data(), col.mutable_strings().size()};
        else return col.template mutable_values<stored_t<T>>();
    }
    /// @brief Fills a scalar column row by row: element i = per_row(i).
    template <class T, class F>
    void fill(Col<T> c, F&& per_row) {
        auto v = values(c);
        check_scalar(c.index(), v.size());
        for (std::size_t i = 0; i < v.size(); ++i) v[i] = static_cast<stored_t<T>>(per_row(i));
    }
    /// @brief Moves whole column values in (rows x cell elements). @throws dhs::Error on a size mismatch.
    template <class T>
    void set(Col<T> c, std::vector<stored_t<T>> v) {
        Column& col = take(c.index(), /*allocate=*/false);
        check_size(col, v.size());
        col = replaced(col, Column(col.name(), std::move(v), col.shape(), col.dtype()));
    }
    /// @brief Sizes every column not yet filled (zeros, empty strings) and counts it as filled:
    /// for a stage that writes row by row and leaves some cells at that default (the injection
    /// stage's controls have no injection plane). The unfilled-column check is then off.
    void allocate_all();
    /// @brief The filled table. @throws dhs::Error naming the group and the first declared
    /// column that was never filled.
    Table finish() &&;

private:
    // The column at `index`, marked filled; sized for the rows on first use when `allocate`.
    Column& take(std::size_t index, bool allocate = true);
    void check_scalar(std::size_t index, std::size_t elements) const;
    void check_size(const Column& col, std::size_t elements) const;
    static Column replaced(const Column& old, Column fresh);

    std::string group_;
    std::size_t rows_;
    std::vector<Column> columns_;
    std::vector<bool> filled_;
};

}  // namespace dhs::engine
