# Tests of the validation kernels: per-stamp features (kernels/stats/stamp_features) against closed
# forms, a direct computation and numpy; exact ROC AUC and its bootstrap (kernels/stats/roc_auc)
# against the Mann-Whitney formula, brute force and scikit-learn; L2 logistic regression
# (kernels/stats/logistic_regression) against known coefficients and scikit-learn.
dhs_add_test(NAME kernels.stamp_features
             SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/stats/stamp_features_test.cpp
             LIBS dhs::kernels LABELS kernels)
dhs_add_test(NAME kernels.roc_auc
             SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/stats/roc_auc_test.cpp
             LIBS dhs::kernels LABELS kernels)
dhs_add_test(NAME kernels.logistic_regression
             SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/stats/logistic_regression_test.cpp
             LIBS dhs::kernels LABELS kernels)
