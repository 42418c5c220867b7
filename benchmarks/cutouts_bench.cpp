// bench_cutouts: the cutout stage's decoding path (TileReader planned per brick, as
// mpi_stages/cutouts/cutter.cpp uses it) on shared/bench/pyref/make_data.py's brick: per brick,
// open the band files, plan the k boxes, read k 101x101 stamps per band into an (k, bands, 101,
// 101) buffer. For k = 1, 10, 100, 1000 targets per brick (positions from
// cutout-positions.npy), image only (3 files) and image + invvar (6 files), with the stage's
// full_decode_fraction and with each path forced. Prints per core (wall seconds and CPU seconds
// of this one-thread process): stamps/s, decoded Mpix/s and cfitsio's full-image decode rate
// (fits_read_subset of the whole image, best of 3) on the same files.
//
//   bench_cutouts DATA_DIR [full_decode_fraction=0.9] [seconds_per_case=1.0]
// DATA_DIR holds brick-image-{g,r,z}.fits.fz (make_data.py) and brick-invvar-{g,r,z}.fits.fz
// (benchmarks/run_cutouts.sh makes them). Output lines start with "RESULT" (key=value).
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "core/fits/tile_reader.hpp"

using dhs::fits::PixelBox;
using dhs::fits::TileReader;
using Clock = std::chrono::steady_clock;

namespace {

double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

/// CPU seconds of this process (user + system): the per-core cost whatever else runs.
double cpu_now() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
}

/// cutout-positions.npy: (N, 2) int64 (x, y) centres, C order.
std::vector<std::pair<long, long>> read_positions(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    char magic[8];
    f.read(magic, 8);
    if (!f || std::memcmp(magic, "\x93NUMPY", 6) != 0) throw std::runtime_error(path + " is not a .npy file");
    std::uint32_t hlen = 0;
    if (magic[6] == 1) {
        unsigned char b[2];
        f.read(reinterpret_cast<char*>(b), 2);
        hlen = b[0] | (b[1] << 8);
    } else {
        unsigned char b[4];
        f.read(reinterpret_cast<char*>(b), 4);
        hlen = b[0] | (b[1] << 8) | (b[2] << 16) | (static_cast<std::uint32_t>(b[3]) << 24);
    }
    std::string header(hlen, ' ');
    f.read(header.data(), hlen);
    if (header.find("'<i8'") == std::string::npos || header.find("False") == std::string::npos)
        throw std::runtime_error(path + ": expected little-endian int64 in C order");
    std::vector<std::int64_t> v;
    std::int64_t x = 0;
    while (f.read(reinterpret_cast<char*>(&x), 8)) v.push_back(x);
    std::vector<std::pair<long, long>> out;
    for (std::size_t i = 0; i + 1 < v.size(); i += 2) out.emplace_back(static_cast<long>(v[i]), static_cast<long>(v[i + 1]));
    return out;
}

struct Totals {
    double seconds = 0, cpu = 0;
    long bricks = 0, stamps = 0;
    std::int64_t pixels = 0, full = 0, tiles = 0, partial = 0;
};

/// One brick: open each file, plan, read every stamp.
void one_brick(const std::vector<std::string>& files, const std::vector<PixelBox>& boxes, double fraction,
               std::vector<float>& out, Totals& tot) {
    const std::size_t plane = 101 * 101, nf = files.size();
    const auto t0 = Clock::now();
    const double c0 = cpu_now();
    for (std::size_t f = 0; f < nf; ++f) {
        auto tr = TileReader::open(files[f]);
        tr.plan(boxes, fraction);
        for (std::size_t k = 0; k < boxes.size(); ++k)
            tr.read_box(boxes[k], std::span<float>(out.data() + (k * nf + f) * plane, plane));
        tot.pixels += tr.stats().pixels_decoded;
        tot.full += tr.stats().full_decodes;
        tot.tiles += tr.stats().tiles_decoded;
        tot.partial += tr.stats().tiles_partial;
    }
    tot.seconds += since(t0);
    tot.cpu += cpu_now() - c0;
    ++tot.bricks;
    tot.stamps += static_cast<long>(boxes.size());
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: bench_cutouts DATA_DIR [full_decode_fraction=0.9] [seconds_per_case=1.0]\n");
        return 2;
    }
    const std::string dir = argv[1];
    const double fraction = argc > 2 ? std::stod(argv[2]) : 0.9;
    const double budget = argc > 3 ? std::stod(argv[3]) : 1.0;
    const auto pos = read_positions(dir + "/cutout-positions.npy");
    const char* bands[3] = {"g", "r", "z"};
    std::vector<std::string> images, both;
    for (const char* b : bands) images.push_back(dir + "/brick-image-" + b + ".fits.fz");
    for (const char* b : bands) both.push_back(dir + "/brick-image-" + b + ".fits.fz");
    for (const char* b : bands) both.push_back(dir + "/brick-invvar-" + b + ".fits.fz");

    // cfitsio's full-image decode rate on the same files (best of 3 per file).
    for (const auto& [label, files] : {std::pair{"image", images}, std::pair{"image+invvar", both}}) {
        double best_total = 0, cpu_total = 0;
        std::int64_t pixels = 0;
        for (const auto& f : files) {
            double best = 1e30, best_cpu = 1e30;
            auto img = dhs::fits::BrickImage::open(f);
            std::vector<float> buf(static_cast<std::size_t>(img.width() * img.height()));
            for (int r = 0; r < 3; ++r) {
                const auto t0 = Clock::now();
                const double c0 = cpu_now();
                img.read_box(0, 0, img.width(), img.height(), std::span<float>(buf));
                best = std::min(best, since(t0));
                best_cpu = std::min(best_cpu, cpu_now() - c0);
            }
            best_total += best;
            cpu_total += best_cpu;
            pixels += img.width() * img.height();
        }
        std::printf("RESULT kind=cfitsio_full mode=%s mpix_per_s=%.2f mpix_per_cpu_s=%.2f seconds_per_brick=%.5f\n",
                    label, static_cast<double>(pixels) / best_total / 1e6, static_cast<double>(pixels) / cpu_total / 1e6,
                    best_total);
    }

    std::vector<float> out;
    for (const auto& [label, files] : {std::pair{"image", images}, std::pair{"image+invvar", both}}) {
        for (const int k : {1, 10, 100, 1000}) {
            for (const auto& [policy, frac] : {std::pair{"stage", fraction}, std::pair{"tiles", 2.0}, std::pair{"full", 0.0}}) {
                out.assign(static_cast<std::size_t>(k) * files.size() * 101 * 101, 0.0f);
                Totals tot;
                std::size_t start = 0;
                // At least 3 bricks and `budget` seconds; each brick new positions (wrapping).
                while (tot.bricks < 3 || tot.seconds < budget) {
                    std::vector<PixelBox> boxes;
                    for (int i = 0; i < k; ++i) {
                        const auto [x, y] = pos[(start + static_cast<std::size_t>(i)) % pos.size()];
                        boxes.push_back({x - 50, y - 50, 101, 101});
                    }
                    start += static_cast<std::size_t>(k);
                    one_brick(files, boxes, frac, out, tot);
                    if (tot.bricks >= 2000) break;
                }
                std::printf(
                    "RESULT kind=dhs mode=%s policy=%s k=%d stamps_per_s=%.2f stamps_per_cpu_s=%.2f mpix_per_s=%.2f "
                    "mpix_per_cpu_s=%.2f full_decodes_per_brick=%.2f tiles_per_brick=%.1f partial_per_brick=%.1f "
                    "bricks=%ld seconds=%.3f\n",
                    label, policy, k, static_cast<double>(tot.stamps) / tot.seconds,
                    static_cast<double>(tot.stamps) / tot.cpu, static_cast<double>(tot.pixels) / tot.seconds / 1e6,
                    static_cast<double>(tot.pixels) / tot.cpu / 1e6, static_cast<double>(tot.full) / tot.bricks,
                    static_cast<double>(tot.tiles) / tot.bricks, static_cast<double>(tot.partial) / tot.bricks,
                    tot.bricks, tot.seconds);
                std::fflush(stdout);
            }
        }
    }
    return 0;
}
