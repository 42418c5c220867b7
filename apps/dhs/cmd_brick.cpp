// `dhs brick RA DEC | BRICKNAME | --id BRICKID`: the Legacy Surveys brick holding a position
// (or named / numbered), its edges, its DR10 coadd directory and the DR10 sweep file that
// lists its objects.
#include <boost/program_options.hpp>
#include <fmt/format.h>

#include <sstream>

#include "apps/dhs/commands.hpp"
#include "kernels/geometry/brick_geometry.hpp"

namespace po = boost::program_options;

namespace dhs::app {

int cmd_brick(const std::vector<std::string>& args, Context& ctx) {
    po::options_description opts("dhs brick RA DEC | dhs brick BRICKNAME | dhs brick --id BRICKID");
    opts.add_options()("help,h", "this help")("id", po::value<std::int64_t>(), "BRICKID (1..662174)")(
        "where", po::value<std::vector<std::string>>(), "RA DEC in degrees, or a brick name");
    auto vm = parse_options(args, opts, {{"where", 2}}, /*allow_short=*/false);
    if (print_help_if_asked(ctx, vm, opts, "\nPositions are degrees (ICRS); RA is wrapped into [0, 360).\n")) return exit_ok;
    const auto& wall = kernels::brick_wall();
    kernels::Brick b;
    std::vector<std::string> where = vm.count("where") ? vm["where"].as<std::vector<std::string>>() : std::vector<std::string>{};
    try {
        if (vm.count("id")) {
            b = wall.brick_by_id(vm["id"].as<std::int64_t>());
        } else if (where.size() == 2) {
            b = wall.brick_at(std::stod(where[0]), std::stod(where[1]));
        } else if (where.size() == 1) {
            auto found = wall.brick_by_name(where[0]);
            if (!found) throw UsageError("'" + where[0] + "' is not a brick name (like 0489m442)");
            b = *found;
        } else {
            throw UsageError("give RA DEC, a brick name or --id");
        }
    } catch (const std::invalid_argument&) {
        throw UsageError("RA and DEC must be numbers in degrees");
    } catch (const std::out_of_range& e) {
        throw UsageError(std::string("out of range: ") + e.what());
    }
    std::string out = fmt::format(
        "brickname  {}\nbrickid    {}\nbrickrow   {}\nbrickcol   {}\nbrickq     {}\n"
        "ra         {:.10f}\ndec        {:.10f}\nra1 ra2    {:.10f} {:.10f}\ndec1 dec2  {:.6f} {:.6f}\n"
        "coadd      coadd/{}/{}/legacysurvey-{}-<kind>.fits.fz\nsweep      {}\n",
        b.name, b.brickid, b.row, b.col, b.brickq, b.ra, b.dec, b.ra1, b.ra2, b.dec1, b.dec2,
        kernels::coadd_dir_prefix(b.name), b.name, b.name, kernels::sweep_block_name(b.ra, b.dec));
    print_rank0(ctx, out);
    return exit_ok;
}

}  // namespace dhs::app
