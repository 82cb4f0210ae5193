# A run stopped and resumed is the run never stopped: trains STEPS steps straight into
# OUT/straight, STEPS/2 into OUT/halves and then `--resume OUT/halves --steps STEPS`, and checks
# that the two checkpoints are the same bytes (weights, optimiser moments, EMA, both random
# streams). ARGS: the training options (|-separated), without --steps and --out.
string(REPLACE "|" ";" ARGS "${ARGS}")
file(REMOVE_RECURSE "${OUT}/straight" "${OUT}/halves")
math(EXPR half "${STEPS} / 2")
foreach(run "straight;${STEPS}" "halves;${half}")
  list(GET run 0 dir)
  list(GET run 1 steps)
  execute_process(COMMAND ${CLI} train ${ARGS} --steps ${steps} --out ${OUT}/${dir} RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "training ${dir} exited ${rc}: ${err}")
  endif()
endforeach()
execute_process(COMMAND ${CLI} train --resume ${OUT}/halves --steps ${STEPS} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "--resume exited ${rc}: ${out} ${err}")
endif()
if(NOT out MATCHES "resuming .* from step ${half} to ${STEPS} steps")
  message(FATAL_ERROR "--resume did not say it resumed from step ${half}: ${out}")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${OUT}/straight/model.safetensors ${OUT}/halves/model.safetensors
                RESULT_VARIABLE differ)
if(NOT differ EQUAL 0)
  message(FATAL_ERROR "the resumed checkpoint differs from the straight run's")
endif()
