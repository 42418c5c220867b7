// The footprint-wide files of a mock sky, written on one rank after the bricks: sweep files
// per DR10 5x5-deg block (rows in brick then OBJID order), survey-bricks.fits.gz, the lenscat
// list lenses/lenscat.csv and the truth tables truth/lenses.csv (every lens parameter),
// truth/confusers.csv (category ring / spiral / edge_on / merger / bright_star, ra, dec and
// parameters) and truth/objects.csv (truth_rows of every brick: the mock_sky.h5 /objects
// columns). Brick contents are redrawn from the seed (the draw is cheap and deterministic), so
// these files equal what the rendered pixels hold.
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <numbers>
#include <cmath>

#include "core/error.hpp"
#include "core/fits/table_writer.hpp"
#include "mpi_stages/mock_sky/mock_sky.hpp"

namespace dhs::stages::mock_sky {

namespace {

void write_text(const std::string& path, const std::string& text) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::binary);
        f << text;
        if (!f) throw Error("mock-sky: cannot write " + tmp);
    }
    std::filesystem::rename(tmp, path);
}

double deg(double rad) { return rad * 180.0 / std::numbers::pi; }

/// One CSV field of row i of a column: numbers with enough digits to round-trip positions,
/// NaN as "nan", booleans 0/1.
std::string csv_field(const Column& c, std::size_t i) {
    switch (c.dtype()) {
        case DType::string: return c.values<std::string>()[i];
        case DType::float64: {
            const double v = c.values<double>()[i];
            return std::isnan(v) ? std::string("nan") : fmt::format("{:.10g}", v);
        }
        case DType::float32: {
            const float v = c.values<float>()[i];
            return std::isnan(v) ? std::string("nan") : fmt::format("{:.7g}", v);
        }
        case DType::int32: return std::to_string(c.values<std::int32_t>()[i]);
        case DType::boolean:
        case DType::uint8: return std::to_string(static_cast<int>(c.values<std::uint8_t>()[i]));
        default: return fmt::format("{}", c.as<double>()[i]);
    }
}

std::string csv_rows(const Table& t, bool header) {
    std::string out;
    if (header) {
        for (std::size_t k = 0; k < t.num_columns(); ++k) out += (k ? "," : "") + t.column(k).name();
        out += "\n";
    }
    for (std::size_t i = 0; i < t.num_rows(); ++i) {
        for (std::size_t k = 0; k < t.num_columns(); ++k) out += (k ? "," : "") + csv_field(t.column(k), i);
        out += "\n";
    }
    return out;
}

}  // namespace

void write_catalog_files(const Params& p) {
    const auto bricks = footprint(p);
    std::map<std::string, Table> sweeps;  // by block file name, rows in brick order
    std::string lenscat = "name,RA [deg],DEC [deg],zlens,type,grading,ref\n";
    std::string lenses =
        "name,brickname,objid,ra,dec,zlens,grading,theta_e_arcsec,lens_q,lens_pa_deg,shear_gamma,shear_pa_deg,"
        "src_dra_arcsec,src_ddec_arcsec,src_sersic_n,src_reff_arcsec,src_q,src_pa_deg,src_clumpy,src_clumps,"
        "src_flux_g,src_flux_r,src_flux_z,magnification,arc_flux_g,arc_flux_r,arc_flux_z,arc_absorbed_g,"
        "arc_absorbed_r,arc_absorbed_z,host_flux_g,host_flux_r,host_flux_z,host_catalog_flux_g,"
        "host_catalog_flux_r,host_catalog_flux_z,host_shape_r,host_psfsize_r\n";
    std::string confusers =
        "category,brickname,objid,ra,dec,flux_g,flux_r,flux_z,shape_r,shape_e1,shape_e2,sersic,ring_radius_arcsec,"
        "ring_width_arcsec,ring_flux_frac,spiral_scale_length_arcsec,spiral_arms,spiral_pitch_rad,spiral_contrast,"
        "companion_objid,companion_sep_arcsec,companion_flux_ratio,tails,tail_radius_arcsec,tail_flux_frac,spikes,"
        "spike_length_arcsec,spike_flux_frac\n";
    std::string objects;
    const std::string ref = fmt::format("dhs mock-sky seed={}", p.seed);
    for (const auto& brick : bricks) {
        const auto draw = draw_brick(p, brick);
        const auto rows = sweep_rows(p, draw);
        const auto ra = rows.column("RA").as<double>(), dec = rows.column("DEC").as<double>();
        // All of a brick's primary area is in one block unless the brick straddles a block edge.
        std::map<std::string, std::vector<std::size_t>> by_block;
        for (std::size_t i = 0; i < ra.size(); ++i) by_block[kernels::sweep_block_name(ra[i], dec[i])].push_back(i);
        for (const auto& [name, idx] : by_block) {
            Table part;
            for (std::size_t c = 0; c < rows.num_columns(); ++c) {
                const Column& col = rows.column(c);
                Column sub = col.slice(idx.front(), idx.front() + 1);
                for (std::size_t k = 1; k < idx.size(); ++k) sub.append(col.slice(idx[k], idx[k] + 1));
                part.add(std::move(sub));
            }
            auto& t = sweeps[name];
            if (t.num_columns() == 0) t = std::move(part);
            else t.append(part);
        }
        objects += csv_rows(truth_rows(p, draw), objects.empty());
        for (const auto& o : draw.objects) {
            if (o.population == Population::lens_host) {
                const auto& l = o.lens;
                const char* grading = l.confident ? "confident" : "probable";
                lenscat += fmt::format("{},{:.6f},{:.6f},{:.3f},galaxy,{},{}\n", l.name, o.ra, o.dec, l.zlens, grading, ref);
                lenses += fmt::format(
                    "{},{},{},{:.8f},{:.8f},{:.4f},{},{:.5f},{:.5f},{:.3f},{:.5f},{:.3f},{:.5f},{:.5f},{:.4f},{:.4f},"
                    "{:.4f},{:.3f},{},{},{:.6g},{:.6g},{:.6g},{:.5f},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},"
                    "{:.6g},{:.6g},{:.6g},{:.6g},{:.6g},{:.4f},{:.4f}\n",
                    l.name, brick.name, o.objid, o.ra, o.dec, l.zlens, grading, l.theta_e, l.q, deg(l.pa), l.gamma,
                    deg(l.gamma_pa), l.src_dx, l.src_dy, l.src_n, l.src_reff, l.src_q, deg(l.src_pa), l.clumpy ? 1 : 0,
                    l.clumps.size(), l.src_flux[0], l.src_flux[1], l.src_flux[2], l.magnification, l.arc_flux[0],
                    l.arc_flux[1], l.arc_flux[2], l.arc_absorbed[0], l.arc_absorbed[1], l.arc_absorbed[2],
                    o.true_flux[0], o.true_flux[1], o.true_flux[2], o.flux[0], o.flux[1], o.flux[2], o.shape_r,
                    draw.conditions.fwhm[1]);
            }
            const std::string category = confuser_category(o.population);
            if (!category.empty()) {
                const auto& c = o.confuser;
                confusers += fmt::format(
                    "{},{},{},{:.8f},{:.8f},{:.6g},{:.6g},{:.6g},{:.4f},{:.5f},{:.5f},{:.3f},{:.4f},{:.4f},{:.3f},{:.4f},"
                    "{},{:.4f},{:.4f},{},{:.4f},{:.4f},{},{:.4f},{:.4f},{},{:.4f},{:.5f}\n",
                    category, brick.name, o.objid, o.ra, o.dec, o.flux[0], o.flux[1], o.flux[2], o.shape_r, o.e1, o.e2,
                    o.sersic, c.ring_radius, c.ring_width, c.ring_flux_frac, c.scale_length, c.arms, c.pitch, c.contrast,
                    c.companion_objid, c.companion_sep, c.companion_flux_ratio, c.tails, c.tail_radius, c.tail_flux_frac,
                    c.spikes, c.spike_length, c.spike_flux_frac);
            }
        }
    }
    namespace fs = std::filesystem;
    const std::string sweep_dir = (fs::path(p.root) / "sweep" / p.sweep_version).string();
    for (const auto& [name, table] : sweeps)
        fits::write_fits_table((fs::path(sweep_dir) / name).string(), table, sweep_columns());
    fits::write_fits_table((fs::path(p.root) / "survey-bricks.fits.gz").string(), fits::survey_bricks_table(bricks),
                           fits::survey_bricks_schema());
    write_text((fs::path(p.root) / "lenses" / "lenscat.csv").string(), lenscat);
    write_text((fs::path(p.root) / "truth" / "lenses.csv").string(), lenses);
    write_text((fs::path(p.root) / "truth" / "confusers.csv").string(), confusers);
    write_text((fs::path(p.root) / "truth" / "objects.csv").string(), objects);
}

}  // namespace dhs::stages::mock_sky
