// Tests of core/npz/npz_writer: archives numpy.load opens with the same arrays (float32,
// float64, int32, int64, 0-d scalars, a '<U' string with non-ASCII and invalid UTF-8), stored
// and deflated; the same arrays give the same bytes whatever the time zone; an empty archive
// is numpy's; a member written twice is refused; an archive never closed leaves no file.
#include "core/npz/npz_writer.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "core/error.hpp"
#include "tests/support/python_support.hpp"

namespace fs = std::filesystem;

namespace dhs::npz {
namespace {

fs::path temp_dir() {
    const fs::path d = fs::temp_directory_path() / ("npz_writer_test_" + std::to_string(::getpid()));
    fs::create_directories(d);
    return d;
}

void write_archive(const fs::path& path, bool compress) {
    NpzWriter w(path.string(), compress);
    const std::vector<float> img = {1.5f, -2.0f, 3.25f, 0.0f, 5.0f, 6.0f};
    w.add("cutout", std::span<const float>(img), {1, 2, 3});
    const std::vector<std::int32_t> mask = {0, 1, 2, 1 << 30};
    w.add("maskbits", std::span<const std::int32_t>(mask), {2, 2});
    const std::vector<std::int64_t> ids = {-1, 1LL << 40};
    w.add("ids", std::span<const std::int64_t>(ids), {2});
    w.add_scalar("meta_ra", 123.456789012345);
    w.add_scalar("meta_psf", 1.25f);
    w.add_scalar("meta_n", std::int64_t{7});
    w.add_scalar("meta_name", std::string("J0123+4567 \xc3\xa9 \xff"));
    w.add_scalar("meta_empty", std::string());
    w.close();
}

std::string bytes_of(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), {}};
}

TEST(NpzWriter, NumpyLoadsTheArraysStoredAndDeflated) {
    if (!test::python_has("numpy")) GTEST_SKIP() << "/usr/bin/python3 with numpy is needed";
    const fs::path d = temp_dir();
    write_archive(d / "c.npz", true);
    write_archive(d / "s.npz", false);
    const std::string script = R"PY(
import sys, zipfile, numpy as np
for path, method in ((sys.argv[1], zipfile.ZIP_DEFLATED), (sys.argv[2], zipfile.ZIP_STORED)):
    assert all(i.compress_type == method for i in zipfile.ZipFile(path).infolist())
    z = np.load(path)
    assert sorted(z.files) == sorted(['cutout', 'maskbits', 'ids', 'meta_ra', 'meta_psf', 'meta_n', 'meta_name', 'meta_empty'])
    c = z['cutout']; assert c.dtype == np.float32 and c.shape == (1, 2, 3)
    assert (c.ravel() == np.array([1.5, -2, 3.25, 0, 5, 6], np.float32)).all()
    m = z['maskbits']; assert m.dtype == np.int32 and m.shape == (2, 2) and m[1, 1] == 1 << 30
    i = z['ids']; assert i.dtype == np.int64 and list(i) == [-1, 1 << 40]
    assert z['meta_ra'].dtype == np.float64 and z['meta_ra'].shape == () and float(z['meta_ra']) == 123.456789012345
    assert z['meta_psf'].dtype == np.float32 and float(z['meta_psf']) == 1.25
    assert z['meta_n'].dtype == np.int64 and int(z['meta_n']) == 7
    assert str(z['meta_name']) == 'J0123+4567 \u00e9 \ufffd', repr(str(z['meta_name']))
    assert z['meta_empty'].dtype == np.dtype('<U1') and str(z['meta_empty']) == ''
print('ok')
)PY";
    const auto out = test::run_python(d, "check.py", script, {(d / "c.npz").string(), (d / "s.npz").string()});
    ASSERT_TRUE(out.has_value());
    EXPECT_EQ(*out, "ok\n");
    fs::remove_all(d);
}

TEST(NpzWriter, SameArraysSameBytesInAnyTimeZone) {
    const fs::path d = temp_dir();
    const char* old = std::getenv("TZ");
    const std::string saved = old ? old : "";
    ::setenv("TZ", "UTC", 1);
    ::tzset();
    write_archive(d / "a.npz", true);
    ::setenv("TZ", "Pacific/Kiritimati", 1);
    ::tzset();
    write_archive(d / "b.npz", true);
    if (old) ::setenv("TZ", saved.c_str(), 1);
    else ::unsetenv("TZ");
    ::tzset();
    EXPECT_EQ(bytes_of(d / "a.npz"), bytes_of(d / "b.npz"));
    fs::remove_all(d);
}

TEST(NpzWriter, EmptyArchiveRepeatedMemberAndUnclosedArchive) {
    const fs::path d = temp_dir();
    {
        NpzWriter w((d / "empty.npz").string());
        w.close();
    }
    EXPECT_EQ(fs::file_size(d / "empty.npz"), 22u);  // the end record alone, as numpy.savez() writes it
    {
        NpzWriter w((d / "twice.npz").string());
        w.add_scalar("x", 1.0);
        EXPECT_THROW(w.add_scalar("x", 2.0), Error);
    }
    EXPECT_FALSE(fs::exists(d / "twice.npz"));
    EXPECT_FALSE(fs::exists(d / "twice.npz.tmp"));
    EXPECT_THROW(NpzWriter((d / "no/such/dir/x.npz").string()), Error);
    fs::remove_all(d);
}

}  // namespace
}  // namespace dhs::npz
