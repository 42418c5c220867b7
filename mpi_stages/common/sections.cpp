// The pipeline's configuration schema: the engine's `run` section plus the survey layout
// (a DR10 tree on disk) that every stage reads.
#include "mpi_stages/common/sections.hpp"

#include "mpi_stages/registry.hpp"

namespace dhs::stages {

namespace {
void declare_survey_section(config::Schema& s) {
    using config::ValueType;
    s.add({.key = "survey.root", .type = ValueType::string,
           .description = "root of a DR10-layout tree: sweep/<version>/, coadd/<RRR>/<brick>/, survey-bricks.fits.gz",
           .default_yaml = "''"});
    s.add({.key = "survey.sweep_version", .type = ValueType::string,
           .description = "sweep sub-directory under <root>/sweep/", .default_yaml = "'10.1'"});
    s.add({.key = "survey.bands", .type = ValueType::string_list, .description = "optical bands, in order",
           .default_yaml = "[g, r, z]", .choices = {"g", "r", "i", "z"}});
    s.add({.key = "survey.pixel_scale_arcsec", .type = ValueType::real, .description = "coadd pixel scale",
           .default_yaml = "0.262", .min = 0.01, .max = 10.0, .unit = "arcsec/pixel"});
}
}  // namespace

void declare_all_sections(config::Schema& schema) {
    config::declare_run_section(schema);
    declare_survey_section(schema);
    pipeline_registry().declare_config(schema);
}

const config::Schema& pipeline_schema() {
    static const config::Schema schema = [] {
        config::Schema s;
        declare_all_sections(s);
        return s;
    }();
    return schema;
}

}  // namespace dhs::stages
