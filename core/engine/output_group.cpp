// Typed output groups (see output_group.hpp).
#include "core/engine/output_group.hpp"

#include <fmt/format.h>

#include "core/error.hpp"

namespace dhs::engine {

GroupSchema::GroupSchema(std::string name, std::string description) {
    group_.name = std::move(name);
    group_.description = std::move(description);
}

std::size_t GroupSchema::add_column(Column column, std::string unit, std::string description) {
    if (group_.schema.has(column.name()))
        throw Error(fmt::format("output group '{}': column '{}' is declared twice", group_.name, column.name()));
    column.set_unit(std::move(unit));
    column.set_description(std::move(description));
    group_.schema.add(std::move(column));
    return group_.schema.num_columns() - 1;
}

const std::string& GroupSchema::column_name(std::size_t index) const {
    if (index >= group_.schema.num_columns())
        throw Error(fmt::format("output group '{}': a column handle that this group did not declare", group_.name));
    return group_.schema.column(index).name();
}

GroupRows::GroupRows(const GroupSchema& schema, std::size_t rows)
    : group_(schema.name()), rows_(rows), filled_(schema.group().schema.num_columns(), false) {
    const Table& t = schema.group().schema;
    columns_.assign(t.columns().begin(), t.columns().end());  // zero rows: allocated when first filled
}

Column& GroupRows::take(std::size_t index, bool allocate) {
    if (index >= columns_.size())
        throw Error(fmt::format("output group '{}': filled through a column handle it did not declare", group_));
    Column& c = columns_[index];
    if (!filled_[index] && allocate) c = replaced(c, Column(c.name(), c.dtype(), rows_, c.shape()));
    filled_[index] = true;
    return c;
}

void GroupRows::allocate_all() {
    for (std::size_t i = 0; i < columns_.size(); ++i) (void)take(i);
}

void GroupRows::check_scalar(std::size_t index, std::size_t elements) const {
    if (elements != rows_)
        throw Error(fmt::format("output group '{}': column '{}' is not a scalar column (fill it through values())",
                                group_, columns_[index].name()));
}

void GroupRows::check_size(const Column& col, std::size_t elements) const {
    if (elements != rows_ * col.cell_size())
        throw Error(fmt::format("output group '{}': column '{}' set with {} values, {} rows x {} expected", group_,
                                col.name(), elements, rows_, col.cell_size()));
}

Column GroupRows::replaced(const Column& old, Column fresh) {
    fresh.set_unit(old.unit());
    fresh.set_description(old.description());
    return fresh;
}

Table GroupRows::finish() && {
    Table t;
    for (std::size_t i = 0; i < columns_.size(); ++i) {
        if (!filled_[i])
            throw Error(fmt::format("output group '{}': column '{}' is declared but this unit never filled it",
                                    group_, columns_[i].name()));
        t.add(std::move(columns_[i]));
    }
    return t;
}

}  // namespace dhs::engine
