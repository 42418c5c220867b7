// `dhs inspect FILE`: what an HDF5 result file (groups, datasets, shapes, attributes) or a
// FITS file (HDUs, images, table columns) holds.
#include <boost/program_options.hpp>

#include <sstream>

#include "apps/dhs/commands.hpp"
#include "core/fits/describe.hpp"
#include "core/hdf5/describe.hpp"

namespace po = boost::program_options;

namespace dhs::app {

int cmd_inspect(const std::vector<std::string>& args, Context& ctx) {
    po::options_description opts("dhs inspect FILE [options]");
    opts.add_options()("help,h", "this help")("file", po::value<std::string>(), "an .h5 or FITS file")(
        "max-columns", po::value<std::size_t>()->default_value(0), "FITS: list at most this many columns (0: all)");
    auto vm = parse_options(args, opts, {{"file", 1}});
    if (print_help_if_asked(ctx, vm, opts)) return exit_ok;
    if (!vm.count("file")) throw UsageError("a file is required");
    if (ctx.comm.rank() != 0) return exit_ok;  // read-only and serial: rank 0 answers
    const std::string path = vm["file"].as<std::string>();
    if (hdf5::is_hdf5(path))
        print_rank0(ctx, hdf5::describe_file(path));
    else
        print_rank0(ctx, fits::describe_file(path, vm["max-columns"].as<std::size_t>()));
    return exit_ok;
}

}  // namespace dhs::app
