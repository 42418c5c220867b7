// The typed in-memory column table: what the FITS sweep reader returns and what stage outputs
// hand to the HDF5 writer. A Table is an ordered set of equally long Columns; each Column has
// one element type (DType), a per-row shape (empty for scalars, {8} for APFLUX_G, {3,101,101}
// for a stamp) and row-major storage: row r's cell is elements [r*cell_size, (r+1)*cell_size).
// Knows nothing of FITS or HDF5.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

namespace dhs {

/// @brief Element type of a Column. `boolean` is stored as std::uint8_t (0 or 1).
enum class DType {
    boolean, int8, uint8, int16, uint16, int32, uint32, int64, uint64, float32, float64, string
};

/// @brief Lower-case name of a DType ("float32", "string"...), for messages and HDF5 attributes.
std::string_view dtype_name(DType t) noexcept;
/// @brief Bytes per element of a numeric DType (1 for boolean); 0 for string.
std::size_t dtype_size(DType t) noexcept;

/// @brief The DType whose storage element type is T (std::uint8_t maps to uint8, not boolean).
template <class T>
constexpr DType dtype_of() noexcept {
    using U = std::remove_cv_t<T>;
    if constexpr (std::is_same_v<U, std::int8_t>) return DType::int8;
    else if constexpr (std::is_same_v<U, std::uint8_t>) return DType::uint8;
    else if constexpr (std::is_same_v<U, std::int16_t>) return DType::int16;
    else if constexpr (std::is_same_v<U, std::uint16_t>) return DType::uint16;
    else if constexpr (std::is_same_v<U, std::int32_t>) return DType::int32;
    else if constexpr (std::is_same_v<U, std::uint32_t>) return DType::uint32;
    else if constexpr (std::is_same_v<U, std::int64_t>) return DType::int64;
    else if constexpr (std::is_same_v<U, std::uint64_t>) return DType::uint64;
    else if constexpr (std::is_same_v<U, float>) return DType::float32;
    else if constexpr (std::is_same_v<U, double>) return DType::float64;
    else if constexpr (std::is_same_v<U, std::string>) return DType::string;
    else static_assert(sizeof(U) == 0, "no DType stores this C++ type");
}

/// @brief One named, typed column of a Table. Value type; copying copies the data. Rank-local.
class Column {
public:
    /// @brief The storage alternatives; booleans share std::vector<std::uint8_t> with uint8.
    using Storage = std::variant<std::vector<std::uint8_t>, std::vector<std::int8_t>,
                                 std::vector<std::int16_t>, std::vector<std::uint16_t>,
                                 std::vector<std::int32_t>, std::vector<std::uint32_t>,
                                 std::vector<std::int64_t>, std::vector<std::uint64_t>,
                                 std::vector<float>, std::vector<double>, std::vector<std::string>>;

    Column() = default;
    /// @brief A column of `num_rows` rows of zeros (empty strings), each row of `shape`.
    Column(std::string name, DType dtype, std::size_t num_rows, std::vector<std::size_t> shape = {});
    /// @brief A column owning `values` (row-major, num_rows * cell_size elements). `dtype`
    /// defaults to dtype_of<T>(); the only other one accepted is boolean for std::uint8_t.
    /// @throws dhs::Error when values.size() is not a multiple of the cell size.
    template <class T>
    Column(std::string name, std::vector<T> values, std::vector<std::size_t> shape = {},
           DType dtype = dtype_of<T>())
        : name_(std::move(name)), dtype_(dtype), shape_(std::move(shape)), data_(std::move(values)) {
        check_storage_matches_dtype();
        set_rows_from_size();
    }

    /// @brief Column name (FITS TTYPE as written, e.g. "FLUX_G").
    const std::string& name() const noexcept { return name_; }
    void set_name(std::string name) { name_ = std::move(name); }
    DType dtype() const noexcept { return dtype_; }
    /// @brief Per-row shape; empty for a scalar column.
    const std::vector<std::size_t>& shape() const noexcept { return shape_; }
    /// @brief Elements per row: the product of shape() (1 for a scalar column).
    std::size_t cell_size() const noexcept;
    std::size_t num_rows() const noexcept { return num_rows_; }
    /// @brief Total number of elements, num_rows() * cell_size().
    std::size_t size() const noexcept { return num_rows_ * cell_size(); }

    /// @brief Physical unit (FITS TUNIT), empty when unknown.
    const std::string& unit() const noexcept { return unit_; }
    void set_unit(std::string unit) { unit_ = std::move(unit); }
    /// @brief Free-text description (an HDF5 attribute), empty when none.
    const std::string& description() const noexcept { return description_; }
    void set_description(std::string text) { description_ = std::move(text); }

    /// @brief The elements, row-major, without copying. T must be the storage type
    /// (std::uint8_t for boolean columns). @throws dhs::Error naming the column and both types.
    template <class T>
    std::span<const T> values() const {
        const auto* v = std::get_if<std::vector<T>>(&data_);
        if (v == nullptr) throw_type_mismatch(dtype_of<T>());
        return {v->data(), v->size()};
    }
    /// @brief Writable view of the elements (to fill a column made with the sizing constructor).
    template <class T>
    std::span<T> mutable_values() {
        auto* v = std::get_if<std::vector<T>>(&data_);
        if (v == nullptr) throw_type_mismatch(dtype_of<T>());
        return {v->data(), v->size()};
    }
    /// @brief Every element converted to the arithmetic type T with static_cast (booleans give
    /// 0/1). @throws dhs::Error for a string column.
    template <class T>
    std::vector<T> as() const {
        static_assert(std::is_arithmetic_v<T>, "as<T>() converts to arithmetic types only");
        return std::visit(
            [this](const auto& v) -> std::vector<T> {
                using E = typename std::decay_t<decltype(v)>::value_type;
                if constexpr (std::is_same_v<E, std::string>) {
                    throw_not_numeric();
                } else {
                    std::vector<T> out(v.size());
                    for (std::size_t i = 0; i < v.size(); ++i) out[i] = static_cast<T>(v[i]);
                    return out;
                }
            },
            data_);
    }
    /// @brief The strings of a string column. @throws dhs::Error for any other dtype.
    const std::vector<std::string>& strings() const;
    /// @brief Writable strings of a string column.
    std::vector<std::string>& mutable_strings();

    /// @brief The raw storage (for writers that dispatch on the alternative).
    const Storage& storage() const noexcept { return data_; }

    /// @brief Appends the rows of `other`. @throws dhs::Error unless dtype and shape agree.
    void append(const Column& other);
    /// @brief Rows [begin, end) as a new column (metadata kept). @throws dhs::Error if out of range.
    Column slice(std::size_t begin, std::size_t end) const;
    /// @brief The rows at `rows` (any order, repeats allowed) as a new column (metadata kept).
    /// @throws dhs::Error if a row is out of range.
    Column take(std::span<const std::uint64_t> rows) const;
    /// @brief The first element's address, for readers filling a column made with the sizing
    /// constructor (numeric and boolean columns; null for strings).
    void* raw_data() noexcept;

    /// @brief Same name, dtype, shape and values (floats compared with ==, so NaN != NaN).
    friend bool operator==(const Column& a, const Column& b);

private:
    [[noreturn]] void throw_type_mismatch(DType requested) const;
    [[noreturn]] void throw_not_numeric() const;
    void check_storage_matches_dtype() const;
    void set_rows_from_size();

    std::string name_;
    DType dtype_ = DType::float64;
    std::vector<std::size_t> shape_;
    std::size_t num_rows_ = 0;
    Storage data_ = std::vector<double>{};
    std::string unit_, description_;
};

/// @brief Columns of equal length, in order, looked up by exact (case-sensitive) name.
/// Rank-local; not thread-safe for concurrent modification.
class Table {
public:
    Table() = default;

    /// @brief Adds a column at the end. @throws dhs::Error if the name exists already or its
    /// row count differs from the table's (the first column sets the row count).
    void add(Column column);
    /// @brief The column called `name`. @throws dhs::Error naming the missing column.
    const Column& column(std::string_view name) const;
    Column& column(std::string_view name);
    /// @brief The i-th column (0-based, insertion order).
    const Column& column(std::size_t i) const { return columns_.at(i); }
    bool has(std::string_view name) const noexcept;
    /// @brief Removes and returns the column called `name`. @throws dhs::Error if absent.
    Column remove(std::string_view name);

    std::size_t num_rows() const noexcept { return num_rows_; }
    std::size_t num_columns() const noexcept { return columns_.size(); }
    std::vector<std::string> column_names() const;
    const std::vector<Column>& columns() const noexcept { return columns_; }

    /// @brief Appends the rows of `other`, which must have the same column names, dtypes and
    /// shapes in the same order (an empty table takes other's schema).
    /// @throws dhs::Error on a schema mismatch (nothing is appended then).
    void append(const Table& other);
    /// @brief Rows [begin, end) of every column as a new table.
    Table slice(std::size_t begin, std::size_t end) const;
    /// @brief The rows at `rows` (any order, repeats allowed) of every column as a new table.
    Table take(std::span<const std::uint64_t> rows) const;

    friend bool operator==(const Table& a, const Table& b) { return a.columns_ == b.columns_; }

private:
    const Column* find(std::string_view name) const noexcept;
    std::vector<Column> columns_;
    std::size_t num_rows_ = 0;
};

}  // namespace dhs
