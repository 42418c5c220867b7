// Tests of kernels/injection_design: the SPEC grids (48, 648, 385 cells), bins, exact tasks per
// cell and control shares, hosts matched to the cell's PSF / depth bin, unpaired controls from
// another host of the same bin, determinism, clear errors for out-of-range parameters and
// empty bins (error / skip / nearest), draws inside their priors, and the S/N magnitude window.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>
#include <stdexcept>
#include <string>

#include "kernels/injection/injection_design.hpp"

namespace inj = dhs::kernels::injection;

namespace {

// Hosts in every (PSF, depth) bin, `per_bin` each, two splits.
std::vector<inj::HostKey> full_hosts(const inj::SelectionGrid& g, int per_bin) {
    std::vector<inj::HostKey> h;
    for (int b = 0; b < g.host_bins(); ++b)
        for (int k = 0; k < per_bin; ++k) h.push_back({b, k % 2});
    return h;
}

inj::DesignSpec sf_spec(std::int64_t per_cell) {
    inj::DesignSpec s;
    s.grid = inj::GridKind::selection_function;
    s.per_cell = per_cell;
    s.seed = 42;
    return s;
}

TEST(InjectionDesign, NamedGridsHaveTheSpecSizes) {
    EXPECT_EQ(inj::named_param_grid(inj::GridKind::grid_small).size(), 48u);
    const auto sota = inj::named_param_grid(inj::GridKind::sota);
    EXPECT_EQ(sota.size(), 9u * 4 * 3 * 3 * 2);
    EXPECT_DOUBLE_EQ(sota.theta_e.front(), 0.5);
    EXPECT_DOUBLE_EQ(sota.theta_e.back(), 2.5);
    EXPECT_EQ(inj::SelectionGrid{}.cells(), 385);
    EXPECT_THROW(inj::named_param_grid(inj::GridKind::prior), std::invalid_argument);
    EXPECT_EQ(inj::grid_kind_from_name("sota"), inj::GridKind::sota);
    EXPECT_THROW(inj::grid_kind_from_name("grid_large"), std::invalid_argument);
    // Point decomposition: theta_E slowest, shear fastest.
    const auto g = inj::named_param_grid(inj::GridKind::grid_small);
    const auto p = g.point(47);
    EXPECT_EQ(p.theta_e, 2);
    EXPECT_EQ(p.shear, 1);
    EXPECT_EQ(g.point(1).shear, 1);
    EXPECT_EQ(g.point(16).theta_e, 1);
}

TEST(InjectionDesign, BinsCoverTheSpecRanges) {
    const inj::SelectionGrid g;
    EXPECT_EQ(g.psf.bin_of(0.9), 0);
    EXPECT_EQ(g.psf.bin_of(0.83), 0);
    EXPECT_EQ(g.psf.bin_of(0.82), -1);
    EXPECT_EQ(g.psf.bin_of(1.8), 6);
    EXPECT_EQ(g.psf.bin_of(1.9), -1);
    EXPECT_EQ(g.depth.bin_of(24.6), 4);
    EXPECT_EQ(g.depth.bin_of(std::nan("")), -1);
    EXPECT_DOUBLE_EQ(g.theta_e.centre(10), 3.0);
    EXPECT_EQ(g.cell_id(10, 6, 4), 384);
    EXPECT_EQ(g.cell_id(0, -1, 2), -1);
}

TEST(InjectionDesign, SelectionFunctionCellsGetExactCountsAndMatchedHosts) {
    const auto spec = sf_spec(20);
    const auto hosts = full_hosts(spec.bins, 4);
    const auto d = inj::design_tasks(spec, hosts);
    const std::int64_t ctrl = inj::controls_per_cell(20, 0.5);
    EXPECT_EQ(ctrl, 20);
    EXPECT_EQ(d.tasks.size(), 385u * 40u);
    ASSERT_EQ(d.coverage.size(), 385u);
    for (const auto& c : d.coverage) {
        EXPECT_EQ(c.injections, 20);
        EXPECT_EQ(c.controls, 20);
        EXPECT_EQ(c.hosts_available, 4);
    }
    std::set<std::int64_t> ids;
    int unpaired = 0;
    for (const auto& t : d.tasks) {
        ids.insert(t.task_id);
        const int bin = spec.bins.host_bin(t.cell_psf, t.cell_depth);
        EXPECT_EQ(hosts[static_cast<std::size_t>(t.host)].bin, bin);  // host matched to the cell's bin
        EXPECT_EQ(hosts[static_cast<std::size_t>(t.stamp_host)].bin, bin);
        if (t.unpaired) {
            ++unpaired;
            EXPECT_TRUE(t.is_control);
            EXPECT_NE(t.stamp_host, t.host);
            EXPECT_EQ(hosts[static_cast<std::size_t>(t.stamp_host)].split, hosts[static_cast<std::size_t>(t.host)].split);
        } else {
            EXPECT_EQ(t.stamp_host, t.host);
        }
    }
    EXPECT_EQ(ids.size(), d.tasks.size());
    EXPECT_NEAR(unpaired / (385.0 * 20), 0.5, 0.03);
    // Rebuilding a task from its id alone gives the same task.
    const inj::TaskDesigner designer(spec, hosts);
    for (std::size_t i = 0; i < d.tasks.size(); i += 97) {
        const auto t = designer.task(d.tasks[i].task_id);
        ASSERT_TRUE(t);
        EXPECT_EQ(t->host, d.tasks[i].host);
        EXPECT_EQ(t->stamp_host, d.tasks[i].stamp_host);
        EXPECT_EQ(t->cell_id, d.tasks[i].cell_id);
    }
    EXPECT_FALSE(designer.task(-1));
    EXPECT_FALSE(designer.task(designer.id_limit()));
}

TEST(InjectionDesign, SameSeedSameDesignOtherSeedOther) {
    auto spec = sf_spec(5);
    const auto hosts = full_hosts(spec.bins, 6);
    const auto a = inj::design_tasks(spec, hosts), b = inj::design_tasks(spec, hosts);
    spec.seed = 43;
    const auto c = inj::design_tasks(spec, hosts);
    int same = 0, differ = 0;
    for (std::size_t i = 0; i < a.tasks.size(); ++i) {
        EXPECT_EQ(a.tasks[i].host, b.tasks[i].host);
        (a.tasks[i].host == c.tasks[i].host ? same : differ) += 1;
    }
    EXPECT_GT(differ, same);
}

TEST(InjectionDesign, EmptyBinsAreErrorsOrSkippedOrBorrowed) {
    auto spec = sf_spec(3);
    std::vector<inj::HostKey> hosts = {{spec.bins.host_bin(0, 0), 0}, {spec.bins.host_bin(3, 2), 0}};
    try {
        inj::design_tasks(spec, hosts);
        FAIL() << "no error for empty bins";
    } catch (const std::invalid_argument& e) {
        const std::string m = e.what();
        EXPECT_NE(m.find("33 of 35 PSF/depth bins hold no host"), std::string::npos) << m;
        EXPECT_NE(m.find("PSF [0.975, 1.125) arcsec x depth [22.25, 22.75) mag"), std::string::npos) << m;
    }
    spec.empty_cells = inj::EmptyCells::skip;
    const auto skip = inj::design_tasks(spec, hosts);
    EXPECT_EQ(skip.tasks.size(), 2u * 11u * 6u);
    EXPECT_EQ(skip.coverage.size(), 385u);
    EXPECT_EQ(skip.empty.size(), 33u);
    spec.empty_cells = inj::EmptyCells::nearest;
    const auto near = inj::design_tasks(spec, hosts);
    EXPECT_EQ(near.tasks.size(), 385u * 6u);
    for (const auto& t : near.tasks) {
        const int hb = hosts[static_cast<std::size_t>(t.host)].bin;
        EXPECT_EQ(t.borrowed, hb != spec.bins.host_bin(t.cell_psf, t.cell_depth));
        if (t.cell_psf == 1 && t.cell_depth == 0) {
            EXPECT_EQ(hb, spec.bins.host_bin(0, 0));
        }
        if (t.cell_psf == 4 && t.cell_depth == 2) {
            EXPECT_EQ(hb, spec.bins.host_bin(3, 2));
        }
    }
    // A single host per bin: unpaired controls fall back to paired ones.
    EXPECT_GT(skip.unpaired_fallbacks, 0);
}

TEST(InjectionDesign, OutOfRangeParametersAreClearErrors) {
    const auto hosts = full_hosts(inj::SelectionGrid{}, 1);
    auto bad = [&](auto edit, const std::string& words) {
        auto s = sf_spec(2);
        edit(s);
        try {
            inj::design_tasks(s, hosts);
            ADD_FAILURE() << "no error for " << words;
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
        }
    };
    bad([](auto& s) { s.priors.lens_q = {0.5, 1.2}; }, "lens_q range must lie in (0, 1]");
    bad([](auto& s) { s.priors.theta_e = {-0.5, 2.0}; }, "theta_e range");
    bad([](auto& s) { s.priors.src_reff = {0.3, 0.1}; }, "src_reff range");
    bad([](auto& s) { s.control_fraction = 0.95; }, "control_fraction");
    bad([](auto& s) { s.per_cell = 0; }, "per_cell");
    bad([](auto& s) {
        s.grid = inj::GridKind::grid_small;
        s.params = inj::named_param_grid(inj::GridKind::grid_small);
        s.params.theta_e[0] = -0.3;
    }, "grid theta_E values must be > 0");
    EXPECT_THROW(inj::design_tasks(sf_spec(2), std::vector<inj::HostKey>{}), std::invalid_argument);
}

TEST(InjectionDesign, GridModesCycleConfigurationsAndDrawFromTheGrid) {
    inj::DesignSpec s;
    s.grid = inj::GridKind::grid_small;
    s.params = inj::named_param_grid(s.grid);
    s.per_cell = 4;
    s.control_fraction = 0.2;
    s.seed = 1;
    const std::vector<inj::HostKey> hosts = {{3, 0}, {3, 0}, {-1, 1}, {10, 1}};
    const auto d = inj::design_tasks(s, hosts);
    EXPECT_EQ(d.tasks.size(), 48u * 5u);  // 4 injections + round(4 x 0.25) = 1 control
    for (const auto& t : d.tasks) {
        ASSERT_GE(t.grid_point, 0);
        const auto draw = inj::draw_task(s, t, {19.8, 18.5, 17.6});
        const auto p = s.params.point(static_cast<std::size_t>(t.grid_point));
        EXPECT_EQ(draw.theta_e, s.params.theta_e[static_cast<std::size_t>(p.theta_e)]);
        EXPECT_EQ(draw.src_dmag, s.params.dmag[static_cast<std::size_t>(p.dmag)]);
        EXPECT_DOUBLE_EQ(draw.src_mag_r, 18.5 + draw.src_dmag);
        EXPECT_LE(std::hypot(draw.src_x, draw.src_y), 0.5 * draw.theta_e + 1e-12);
        EXPECT_GE(draw.lens_q, 0.5);
        EXPECT_LE(draw.lens_q, 1.0);
        EXPECT_NEAR(draw.src_gr, 1.3, 0.2 + 1e-12);
        EXPECT_NEAR(draw.src_rz, 0.9, 0.2 + 1e-12);
    }
}

TEST(InjectionDesign, PriorDrawsStayInsideThePriors) {
    auto s = sf_spec(50);
    const auto hosts = full_hosts(s.bins, 2);
    const auto d = inj::design_tasks(s, hosts);
    double mu_lo = 1e9, mu_hi = 0;
    for (const auto& t : d.tasks) {
        if (t.is_control) continue;
        const auto draw = inj::draw_task(s, t, {20.0, 19.0, 18.5});
        EXPECT_DOUBLE_EQ(draw.theta_e, s.bins.theta_e.centre(t.cell_theta_e));
        EXPECT_GE(draw.src_mag_r, 22.0);
        EXPECT_LE(draw.src_mag_r, 26.0);
        const double beta = std::hypot(draw.src_x, draw.src_y);
        const double mu = 2 * draw.theta_e / beta;  // the SIS point magnification the offset was drawn for
        EXPECT_NEAR(mu, draw.target_magnification, 1e-9 * mu);
        mu_lo = std::min(mu_lo, mu);
        mu_hi = std::max(mu_hi, mu);
        EXPECT_GE(draw.src_reff, 0.05);
        EXPECT_LE(draw.src_reff, 0.4);
        EXPECT_LE(draw.shear, 0.05);
    }
    EXPECT_LT(mu_lo, 5.5);
    EXPECT_GT(mu_hi, 29.0);
    // Attempts of the S/N rejection draw anew; the target bin stays.
    const auto& t = d.tasks.front();
    const auto a0 = inj::draw_task(s, t, {20, 19, 18.5}, 0), a1 = inj::draw_task(s, t, {20, 19, 18.5}, 1);
    EXPECT_NE(a0.src_mag_r, a1.src_mag_r);
    EXPECT_EQ(a0.u_snr_bin, a1.u_snr_bin);
}

TEST(InjectionDesign, PriorModeCellsFollowTheDrawnThetaE) {
    inj::DesignSpec s;
    s.grid = inj::GridKind::prior;
    s.n_tasks = 300;
    s.control_fraction = 0.25;
    s.seed = 9;
    const auto hosts = full_hosts(s.bins, 1);
    const auto d = inj::design_tasks(s, hosts);
    EXPECT_EQ(d.tasks.size(), 400u);
    for (const auto& t : d.tasks) {
        if (t.is_control) continue;
        const double te = inj::draw_task(s, t, {}).theta_e;
        EXPECT_GE(te, 0.5);
        EXPECT_LE(te, 3.0);
        EXPECT_EQ(t.cell_theta_e, s.bins.theta_e.bin_of(te));
    }
}

TEST(InjectionDesign, MagnitudeWindowForATargetSnr) {
    // snr = 10 at mag 22.5 (flux 1): snr in [2, 8) <=> mag in (22.74, 24.25].
    const auto r = inj::mag_range_for_snr(10.0, 2.0, 8.0, 22.0, 26.0);
    ASSERT_TRUE(r);
    EXPECT_NEAR(r->lo, 22.5 - 2.5 * std::log10(0.8), 1e-12);
    EXPECT_NEAR(r->hi, 22.5 - 2.5 * std::log10(0.2), 1e-12);
    EXPECT_FALSE(inj::mag_range_for_snr(10.0, 2.0, 8.0, 25.0, 26.0));  // too faint for the bin
    const auto open = inj::mag_range_for_snr(10.0, 20.0, INFINITY, 10.0, 30.0);
    ASSERT_TRUE(open);
    EXPECT_DOUBLE_EQ(open->lo, 10.0);
    EXPECT_FALSE(inj::mag_range_for_snr(0.0, 2.0, 8.0, 22.0, 26.0));
}

TEST(InjectionDesign, UniformDeviatesAreUniformAndIndependent) {
    double s = 0, s2 = 0, c = 0;
    const int n = 20000;
    for (int i = 0; i < n; ++i) {
        const double a = inj::uniform01(5, i, 1), b = inj::uniform01(5, i, 2);
        ASSERT_GE(a, 0.0);
        ASSERT_LT(a, 1.0);
        s += a;
        s2 += a * a;
        c += (a - 0.5) * (b - 0.5);
    }
    EXPECT_NEAR(s / n, 0.5, 0.01);
    EXPECT_NEAR(s2 / n - 0.25, 1.0 / 12, 0.005);
    EXPECT_NEAR(c / n, 0.0, 0.003);
}

}  // namespace
