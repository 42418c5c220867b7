# Tests of the evaluation kernels (kernels/stats/evaluation_metrics): ROC and precision-recall curves,
# calibration curves and the Brier score against scikit-learn, operating points (TPR at FPR,
# TPR0, TPR10) against a numpy count, Clopper-Pearson intervals against scipy.stats.beta.ppf,
# the deterministic bootstrap of a recall.
dhs_add_test(NAME kernels.evaluation_metrics
             SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/stats/evaluation_metrics_test.cpp
             LIBS dhs::kernels LABELS "kernels;evaluation" TIMEOUT 120)
