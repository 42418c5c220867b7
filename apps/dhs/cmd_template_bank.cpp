// `dhs make-template-bank --out FILE [--n N] [--seed S] [--size PX] [--pixel-scale ARCSEC]`: an
// HDF5 bank of irregular clumpy galaxies (an exponential disk plus Gaussian clumps), unit-flux
// stamps at their pixel scale, in the format the injection stage reads (docs/injection.md "Template bank
// format"). Template i depends on (seed, i) only, so any rank count writes the same bank; each
// rank renders a contiguous block of templates.
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <filesystem>
#include <vector>

#include "apps/dhs/commands.hpp"
#include "core/hdf5/parallel_file.hpp"
#include "dhs/config.hpp"
#include "kernels/injection/injection_source.hpp"

namespace po = boost::program_options;

namespace dhs::app {

int cmd_make_template_bank(const std::vector<std::string>& args, Context& ctx) {
    po::options_description opts("dhs make-template-bank --out FILE [options]");
    opts.add_options()("help,h", "this help")("out,o", po::value<std::string>(), "HDF5 bank to write (replaced)")(
        "n", po::value<long long>()->default_value(200), "number of templates")(
        "seed", po::value<long long>()->default_value(42), "seed of the galaxies (template i depends on seed and i)")(
        "size", po::value<int>()->default_value(129), "template side, pixels (odd)")(
        "pixel-scale", po::value<double>()->default_value(0.03), "template pixel scale, arcsec (HST-like)");
    auto vm = parse_options(args, opts, {});
    if (print_help_if_asked(ctx, vm, opts,
                            "\nwrites /templates/image (N, size, size) float32, each summing to 1, "
                            "/templates/pixel_scale_arcsec,\n/templates/template_id, /templates/half_light_radius_arcsec, "
                            "/templates/ellipticity, /templates/n_clumps\n"))
        return exit_ok;
    if (!vm.count("out")) throw UsageError("--out FILE is required");
    const long long n = vm["n"].as<long long>();
    const int size = vm["size"].as<int>();
    const double scale = vm["pixel-scale"].as<double>();
    const auto seed = static_cast<std::uint64_t>(vm["seed"].as<long long>());
    if (n < 1) throw UsageError("--n must be >= 1");
    if (size < 3 || size % 2 == 0 || size > 2001) throw UsageError("--size must be odd, in [3, 2001]");
    if (!(scale > 0.0) || scale > 10.0) throw UsageError("--pixel-scale must be in (0, 10] arcsec");
    const std::string out = std::filesystem::absolute(vm["out"].as<std::string>()).lexically_normal().string();

    // This rank's block of templates.
    const int ranks = ctx.comm.size(), rank = ctx.comm.rank();
    const long long first = n * rank / ranks, last = n * (rank + 1) / ranks;
    const auto count = static_cast<std::size_t>(last - first);
    const std::size_t pix = static_cast<std::size_t>(size) * static_cast<std::size_t>(size);
    std::vector<float> image(count * pix);
    std::vector<double> ps(count, scale), hlr(count), ell(count);
    std::vector<std::int64_t> id(count);
    std::vector<std::int32_t> clumps(count);
    for (std::size_t k = 0; k < count; ++k) {
        const auto i = first + static_cast<long long>(k);
        const auto g = kernels::injection::draw_clumpy_galaxy(seed, i);
        const std::span<float> stamp(image.data() + k * pix, pix);
        kernels::injection::render_clumpy_galaxy(g, scale, size, stamp);
        const auto m = kernels::injection::template_moments({stamp, size, size, scale});
        id[k] = i;
        hlr[k] = m.half_light_radius;
        ell[k] = m.e;
        clumps[k] = static_cast<std::int32_t>(g.clumps.size());
    }

    hdf5::ParallelFile f(out + ".tmp", ctx.comm);
    f.create_group("/templates");
    const auto rows = static_cast<std::uint64_t>(n);
    const auto s = static_cast<std::size_t>(size);
    f.create_dataset({.path = "/templates/image", .dtype = DType::float32, .rows = rows, .cell_shape = {s, s}});
    f.create_dataset({.path = "/templates/pixel_scale_arcsec", .dtype = DType::float64, .rows = rows});
    f.create_dataset({.path = "/templates/template_id", .dtype = DType::int64, .rows = rows});
    f.create_dataset({.path = "/templates/half_light_radius_arcsec", .dtype = DType::float64, .rows = rows});
    f.create_dataset({.path = "/templates/ellipticity", .dtype = DType::float64, .rows = rows});
    f.create_dataset({.path = "/templates/n_clumps", .dtype = DType::int32, .rows = rows});
    const auto off = static_cast<std::uint64_t>(first);
    f.write_rows("/templates/image", off, Column("image", std::move(image), {s, s}));
    f.write_rows("/templates/pixel_scale_arcsec", off, Column("pixel_scale_arcsec", std::move(ps)));
    f.write_rows("/templates/template_id", off, Column("template_id", std::move(id)));
    f.write_rows("/templates/half_light_radius_arcsec", off, Column("half_light_radius_arcsec", std::move(hlr)));
    f.write_rows("/templates/ellipticity", off, Column("ellipticity", std::move(ell)));
    f.write_rows("/templates/n_clumps", off, Column("n_clumps", std::move(clumps)));
    f.set_attribute("/", "format", std::string("dhs-template-bank"));
    f.set_attribute("/", "format_version", std::int64_t{1});
    f.set_attribute("/", "generator", std::string("dhs make-template-bank: exponential disk + Gaussian clumps"));
    f.set_attribute("/", "seed", static_cast<std::int64_t>(seed));
    f.set_attribute("/", "dhs_version", std::string(DHS_VERSION_STRING));
    f.set_attribute("/", "git_commit", std::string(DHS_GIT_COMMIT));
    f.set_attribute("/templates", "description", std::string("unit-flux galaxy templates, bilinear between pixel centres"));
    f.set_attribute("/templates/image", "layout", std::string("NHW"));
    f.set_attribute("/templates/image", "units", std::string("fraction of the total flux per pixel"));
    f.set_attribute("/templates/pixel_scale_arcsec", "units", std::string("arcsec"));
    f.set_attribute("/templates/half_light_radius_arcsec", "units", std::string("arcsec"));
    f.close();
    if (rank == 0) std::filesystem::rename(out + ".tmp", out);
    ctx.comm.barrier();
    print_rank0(ctx, fmt::format("wrote {} templates ({}x{} at {:g}\"/px) to {}\n", n, size, size, scale, out));
    return exit_ok;
}

}  // namespace dhs::app
