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
# What shapes the run cannot change on --resume: another width (a network of another shape) is
# refused with exit 2 naming it, and the checkpoint is left as it was.
file(SHA256 ${OUT}/halves/model.safetensors before)
math(EXPR more "${STEPS} + 10")
execute_process(COMMAND ${CLI} train --resume ${OUT}/halves --steps ${more} --width 24 RESULT_VARIABLE rc
                OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 2 OR NOT err MATCHES "'width' = 24")
  message(FATAL_ERROR "--resume with another --width: expected exit 2 naming 'width' = 24, got ${rc}: ${out} ${err}")
endif()
file(SHA256 ${OUT}/halves/model.safetensors after)
if(NOT before STREQUAL after)
  message(FATAL_ERROR "a refused --resume changed the checkpoint")
endif()
