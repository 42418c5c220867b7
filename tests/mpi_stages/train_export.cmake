# scripts/export_torchscript.py on models the training stage just wrote (a tiny ResNet-18 of
# each stem, one with metadata fusion, and the plain CNN): the TorchScript file reloads and
# gives the eager model's logits. Needs libtorch (the stage) and Debian's python3-torch.
if(DHS_HAVE_TORCH)
  dhs_add_script_test(NAME mpi_stages.train_export
                      COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/train_export_test.sh ${PROJECT_SOURCE_DIR}
                      LABELS "mpi_stages;train" TIMEOUT 300)
endif()
