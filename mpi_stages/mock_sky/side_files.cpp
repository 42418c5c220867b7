// The footprint-wide files of a mock sky, written on one rank after the bricks: sweep files
// per DR10 5x5-deg block (rows in brick then OBJID order), survey-bricks.fits.gz, the lenscat
// list lenses/lenscat.csv and the truth tables truth/{lenses,confusers,objects}.csv. Brick
// contents are redrawn from the seed (the draw is cheap and deterministic), so these files
// equal what the rendered pixels hold.
#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <numbers>

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

}  // namespace

void write_catalog_files(const Params& p) {
    const auto bricks = footprint(p);
    std::map<std::string, Table> sweeps;  // by block file name, rows in brick order
    std::string lenscat = "name,RA [deg],DEC [deg],zlens,type,grading,ref\n";
    std::string lenses =
        "name,brickname,objid,ra,dec,zlens,grading,theta_e_arcsec,lens_q,lens_pa_deg,shear_gamma,shear_pa_deg,"
        "src_dra_arcsec,src_ddec_arcsec,src_sersic_n,src_reff_arcsec,src_q,src_pa_deg,src_flux_g,src_flux_r,"
        "src_flux_z,magnification,host_flux_g,host_flux_r,host_flux_z,host_shape_r,host_psfsize_r\n";
    std::string confusers =
        "category,brickname,objid,ra,dec,flux_g,flux_r,flux_z,shape_r,shape_e1,shape_e2,sersic,ring_radius_arcsec,"
        "ring_width_arcsec,ring_flux_frac,spiral_scale_length_arcsec,spiral_arms,spiral_pitch_rad,spiral_contrast\n";
    std::string objects = "brickname,objid,population,type,ra,dec,flux_g,flux_r,flux_z\n";
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
        for (const auto& o : draw.objects) {
            objects += fmt::format("{},{},{},{},{:.8f},{:.8f},{:.6g},{:.6g},{:.6g}\n", brick.name, o.objid,
                                   population_name(o.population), o.type, o.ra, o.dec, o.flux[0], o.flux[1], o.flux[2]);
            if (o.population == Population::lens_host) {
                const auto& l = o.lens;
                const char* grading = l.confident ? "confident" : "probable";
                lenscat += fmt::format("{},{:.6f},{:.6f},{:.3f},galaxy,{},{}\n", l.name, o.ra, o.dec, l.zlens, grading, ref);
                lenses += fmt::format(
                    "{},{},{},{:.8f},{:.8f},{:.4f},{},{:.5f},{:.5f},{:.3f},{:.5f},{:.3f},{:.5f},{:.5f},{:.4f},{:.4f},"
                    "{:.4f},{:.3f},{:.6g},{:.6g},{:.6g},{:.5f},{:.6g},{:.6g},{:.6g},{:.4f},{:.4f}\n",
                    l.name, brick.name, o.objid, o.ra, o.dec, l.zlens, grading, l.theta_e, l.q, deg(l.pa), l.gamma,
                    deg(l.gamma_pa), l.src_dx, l.src_dy, l.src_n, l.src_reff, l.src_q, deg(l.src_pa), l.src_flux[0],
                    l.src_flux[1], l.src_flux[2], l.magnification, o.flux[0], o.flux[1], o.flux[2], o.shape_r,
                    draw.conditions.fwhm[1]);
            }
            if (o.population == Population::ring || o.population == Population::spiral ||
                o.population == Population::edge_on) {
                const auto& c = o.confuser;
                confusers += fmt::format("{},{},{},{:.8f},{:.8f},{:.6g},{:.6g},{:.6g},{:.4f},{:.5f},{:.5f},{:.3f},{:.4f},"
                                         "{:.4f},{:.3f},{:.4f},{},{:.4f},{:.4f}\n",
                                         population_name(o.population), brick.name, o.objid, o.ra, o.dec, o.flux[0],
                                         o.flux[1], o.flux[2], o.shape_r, o.e1, o.e2, o.sersic, c.ring_radius,
                                         c.ring_width, c.ring_flux_frac, c.scale_length, c.arms, c.pitch, c.contrast);
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
