// Spool files: exact round trip of every column type, durable naming, and detection of
// torn or corrupt files (what makes kill-and-resume safe); the streaming SpoolReader.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <type_traits>
#include <variant>

#include "core/engine/spool.hpp"
#include "core/error.hpp"

using namespace dhs;
using namespace dhs::engine;
namespace fs = std::filesystem;

namespace {
std::string fresh_dir(const char* name) {
    fs::path d = fs::path(::testing::TempDir()) / name;
    fs::remove_all(d);
    fs::create_directories(d);
    return d.string();
}

UnitOutput sample_output() {
    Table t;
    Column ra("ra", std::vector<double>{1.5, -2.25, 3e10});
    ra.set_unit("deg");
    ra.set_description("right ascension");
    t.add(std::move(ra));
    t.add(Column("id", std::vector<std::int64_t>{1, 2, 3}));
    t.add(Column("name", std::vector<std::string>{"a", "", "ccc"}));
    t.add(Column("flag", std::vector<std::uint8_t>{1, 0, 1}, {}, DType::boolean));
    t.add(Column("stamp", std::vector<float>(3 * 2 * 2 * 2, 0.5f), {2, 2, 2}));
    t.add(Column("i8", std::vector<std::int8_t>{-1, 0, 1}));
    Table u;
    u.add(Column("n", std::vector<std::int32_t>{7}));
    return {{"pool", t}, {"summary", u}, {"empty", Table()}};
}
}  // namespace

TEST(Spool, RoundTripsEveryColumnExactly) {
    auto dir = fresh_dir("spool_rt");
    auto out = sample_output();
    write_spool(dir, 42, out);
    const std::string path = spool_path(dir, 42);
    EXPECT_TRUE(fs::exists(path));
    EXPECT_EQ(list_spooled_units(dir), std::vector<std::int64_t>{42});
    EXPECT_TRUE(verify_spool(path));
    auto back = read_spool(path);
    ASSERT_EQ(back.size(), out.size());
    EXPECT_TRUE(back["pool"] == out["pool"]);
    EXPECT_TRUE(back["summary"] == out["summary"]);
    EXPECT_EQ(back["pool"].column("ra").unit(), "deg");
    EXPECT_EQ(back["pool"].column("ra").description(), "right ascension");
    EXPECT_EQ(back["pool"].column("flag").dtype(), DType::boolean);
    auto s = read_spool_summary(path);
    EXPECT_EQ(s.unit_index, 42);
    EXPECT_EQ(s.rows["pool"], 3u);
    EXPECT_EQ(s.rows["summary"], 1u);
    EXPECT_EQ(s.max_string_bytes["pool/name"], 3u);
    // No temporary files are left behind.
    int files = 0;
    for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
    EXPECT_EQ(files, 1);
}

TEST(Spool, TornAndCorruptFilesAreDetected) {
    auto dir = fresh_dir("spool_bad");
    write_spool(dir, 1, sample_output());
    const std::string path = spool_path(dir, 1);
    const auto size = fs::file_size(path);
    // Flip one byte in the middle.
    {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(size / 2));
        char c;
        f.read(&c, 1);
        f.seekp(static_cast<std::streamoff>(size / 2));
        c = static_cast<char>(c ^ 0x5a);
        f.write(&c, 1);
    }
    EXPECT_FALSE(verify_spool(path));
    EXPECT_THROW(read_spool(path), DataError);
    // Truncate (a torn write).
    write_spool(dir, 2, sample_output());
    fs::resize_file(spool_path(dir, 2), size - 11);
    EXPECT_FALSE(verify_spool(spool_path(dir, 2)));
    try {
        read_spool(spool_path(dir, 2));
        FAIL();
    } catch (const DataError& e) {
        EXPECT_EQ(e.file(), spool_path(dir, 2));
    }
    EXPECT_FALSE(verify_spool(spool_path(dir, 99)));  // missing
    // Stray temporary files are not units.
    std::ofstream(spool_path(dir, 3) + ".tmp123") << "partial";
    EXPECT_EQ(list_spooled_units(dir), (std::vector<std::int64_t>{1, 2}));
}

TEST(Spool, UnwritableDirectoryIsAnErrorNamingTheFile) {
    try {
        write_spool("/nonexistent/dhs/spool", 5, sample_output());
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("/nonexistent/dhs/spool/unit-000000005.spool"), std::string::npos) << e.what();
    }
}

TEST(Spool, StreamingReaderFillsCallerBuffersLikeReadSpool) {
    auto dir = fresh_dir("spool_stream");
    auto out = sample_output();
    write_spool(dir, 9, out);
    const std::string path = spool_path(dir, 9);
    const auto whole = read_spool(path);
    SpoolReader r(path);
    EXPECT_EQ(r.unit_index(), 9);
    EXPECT_EQ(r.file_bytes(), fs::file_size(path));
    ASSERT_EQ(r.groups().size(), 3u);  // empty, pool, summary (the map's order)
    for (const auto& g : r.groups()) {
        const Table& t = whole.at(g.name);
        ASSERT_EQ(g.rows, t.num_rows());
        ASSERT_EQ(g.columns.size(), t.num_columns());
        for (std::size_t c = 0; c < g.columns.size(); ++c) {
            const auto& info = g.columns[c];
            const Column& want = t.column(c);
            EXPECT_EQ(&r.next_column(), &info);
            EXPECT_EQ(info.name, want.name());
            EXPECT_EQ(info.dtype, want.dtype());
            EXPECT_EQ(info.shape, want.shape());
            EXPECT_EQ(info.unit, want.unit());
            const std::size_t n = g.rows * info.cell_size();
            if (info.dtype == DType::string) {
                if (info.name == "name") {  // fixed-width slots, NUL padded
                    std::string packed(n * 4, 'x');
                    r.read_strings_fixed(packed.data(), 4);
                    EXPECT_EQ(packed, std::string("a\0\0\0\0\0\0\0ccc\0", 12));
                } else {
                    std::vector<std::string> v(n);
                    r.read_strings(v.data(), n);
                    EXPECT_EQ(v, want.strings());
                }
                continue;
            }
            // Numbers land at an offset inside a larger buffer, as the gather reads them.
            const std::size_t bytes = n * dtype_size(info.dtype);
            std::vector<char> buf(bytes + 16, '\x7f');
            EXPECT_THROW(r.read_raw(buf.data(), bytes + 1), std::logic_error);  // wrong size: caller bug
            r.read_raw(buf.data() + 8, bytes);
            std::visit(
                [&](const auto& v) {
                    using E = typename std::decay_t<decltype(v)>::value_type;
                    if constexpr (!std::is_same_v<E, std::string>) {
                        EXPECT_EQ(std::memcmp(buf.data() + 8, v.data(), bytes), 0) << info.name;
                    }
                },
                want.storage());
            EXPECT_EQ(buf[7], '\x7f');
            EXPECT_EQ(buf[8 + bytes], '\x7f');
        }
    }
    EXPECT_TRUE(r.at_end());
    r.finish();
    // A string wider than the slot is refused, not written past it.
    SpoolReader r2(path);
    while (!(r2.next_group().name == "pool" && r2.next_column().name == "name")) r2.skip();
    std::string small(3 * 2, '\0');
    EXPECT_THROW(r2.read_strings_fixed(small.data(), 2), DataError);
    // The summary comes from the same header.
    auto s = read_spool_summary(path);
    EXPECT_EQ(s.rows["pool"], 3u);
    EXPECT_EQ(s.max_string_bytes["pool/name"], 3u);
}

TEST(Spool, StreamingReaderDetectsCorruptionAndTruncation) {
    auto dir = fresh_dir("spool_stream_bad");
    // Large enough that the values bypass the reader's buffer.
    Table t;
    t.add(Column("stamp", std::vector<float>(40 * 3 * 31 * 31, 0.25f), {3, 31, 31}));
    t.add(Column("id", std::vector<std::int64_t>(40, 5)));
    write_spool(dir, 1, {{"rows", t}});
    const std::string path = spool_path(dir, 1);
    const auto size = fs::file_size(path);
    auto drain = [](const std::string& p) {
        SpoolReader r(p);
        std::vector<char> buf;
        while (!r.at_end()) {
            const auto& c = r.next_column();
            buf.resize(r.next_group().rows * c.cell_size() * dtype_size(c.dtype));
            r.read_raw(buf.data(), buf.size());
        }
        r.finish();
    };
    EXPECT_NO_THROW(drain(path));
    // One flipped bit deep in the stamps: only the checksum can see it.
    {
        std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(static_cast<std::streamoff>(size / 2));
        char c;
        f.read(&c, 1);
        f.seekp(static_cast<std::streamoff>(size / 2));
        c = static_cast<char>(c ^ 0x01);
        f.write(&c, 1);
    }
    try {
        drain(path);
        FAIL();
    } catch (const DataError& e) {
        EXPECT_EQ(e.file(), path);
        EXPECT_NE(std::string(e.what()).find("checksum"), std::string::npos) << e.what();
    }
    // Torn: the header no longer fits the file; refused before any values are read.
    write_spool(dir, 2, {{"rows", t}});
    fs::resize_file(spool_path(dir, 2), size - 100);
    try {
        SpoolReader r(spool_path(dir, 2));
        FAIL();
    } catch (const DataError& e) {
        EXPECT_EQ(e.file(), spool_path(dir, 2));
    }
    // Trailing bytes.
    write_spool(dir, 3, {{"rows", t}});
    std::ofstream(spool_path(dir, 3), std::ios::app | std::ios::binary) << "x";
    EXPECT_THROW(drain(spool_path(dir, 3)), DataError);
    EXPECT_THROW(SpoolReader(spool_path(dir, 99)), DataError);  // missing
}
