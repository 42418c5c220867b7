// `dhs inspect` back ends: describing an HDF5 file the test writes and real FITS files.
#include <gtest/gtest.h>
#include <hdf5.h>

#include <fstream>

#include "core/error.hpp"
#include "core/fits/describe.hpp"
#include "core/hdf5/describe.hpp"

namespace {
std::string write_small_h5() {
    std::string path = ::testing::TempDir() + "/dhs_describe_test.h5";
    hid_t f = H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t g = H5Gcreate2(f, "pool", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[1] = {5};
    hid_t sp = H5Screate_simple(1, dims, nullptr);
    hid_t ds = H5Dcreate2(g, "ra", H5T_NATIVE_DOUBLE, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    double ra[5] = {1, 2, 3, 4, 5};
    H5Dwrite(ds, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, ra);
    hid_t st = H5Tcopy(H5T_C_S1);
    H5Tset_size(st, H5T_VARIABLE);
    H5Tset_cset(st, H5T_CSET_UTF8);
    hid_t scalar = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(ds, "units", st, scalar, H5P_DEFAULT, H5P_DEFAULT);
    const char* deg = "deg";
    H5Awrite(a, st, &deg);
    H5Aclose(a);
    hsize_t sdims[4] = {2, 3, 101, 101}, chunk[4] = {1, 3, 101, 101};
    hid_t sp4 = H5Screate_simple(4, sdims, nullptr);
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(dcpl, 4, chunk);
    hid_t stamps = H5Dcreate2(f, "stamps", H5T_NATIVE_FLOAT, sp4, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    hid_t ra_attr = H5Acreate2(f, "seed", H5T_NATIVE_INT64, scalar, H5P_DEFAULT, H5P_DEFAULT);
    long long seed = 42;
    H5Awrite(ra_attr, H5T_NATIVE_LLONG, &seed);
    H5Aclose(ra_attr);
    H5Dclose(stamps);
    H5Pclose(dcpl);
    H5Sclose(sp4);
    H5Sclose(scalar);
    H5Tclose(st);
    H5Dclose(ds);
    H5Sclose(sp);
    H5Gclose(g);
    H5Fclose(f);
    return path;
}
}  // namespace

TEST(Describe, Hdf5TreeWithShapesAndAttributes) {
    std::string path = write_small_h5();
    ASSERT_TRUE(dhs::hdf5::is_hdf5(path));
    std::string text = dhs::hdf5::describe_file(path);
    EXPECT_NE(text.find("/pool/ra  float64 (5,)"), std::string::npos) << text;
    EXPECT_NE(text.find("@units = \"deg\""), std::string::npos) << text;
    EXPECT_NE(text.find("/stamps  float32 (2, 3, 101, 101) chunks (1, 3, 101, 101)"), std::string::npos) << text;
    EXPECT_NE(text.find("@seed = 42"), std::string::npos) << text;
}

TEST(Describe, FitsTablesAndErrors) {
    std::string tractor = std::string(DHS_SHARED_DIR) + "/data/real/desitarget/tractor-3301m002.fits";
    EXPECT_FALSE(dhs::hdf5::is_hdf5(tractor));
    std::string text = dhs::fits::describe_file(tractor, 5);
    EXPECT_NE(text.find("binary table"), std::string::npos) << text;
    EXPECT_NE(text.find("more columns"), std::string::npos) << text;
    std::string bad = ::testing::TempDir() + "/dhs_not_fits.txt";
    std::ofstream(bad) << "this is not FITS\n";
    try {
        dhs::fits::describe_file(bad);
        FAIL();
    } catch (const dhs::FitsError& e) {
        EXPECT_EQ(e.file(), bad);
        EXPECT_NE(std::string(e.what()).find(bad), std::string::npos);
    }
    EXPECT_THROW(dhs::hdf5::describe_file(bad), dhs::HdfError);
}
