// Spool files: exact round trip of every column type, durable naming, and detection of
// torn or corrupt files (what makes kill-and-resume safe).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

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
