# Long runs survive their end: SIGTERM writes a checkpoint and exits 143 with the step it saved,
# and --resume continues from it; then KILLS kill -9s at moments spread over checkpoint writes
# (--checkpoint-every 1: one every step), each followed by `sample` from the last checkpoint and a
# --resume of the killed run. CLI, OUT, TIMEOUT (coreutils' timeout), KILLS.
file(REMOVE_RECURSE "${OUT}")
set(train_args --method naign --dataset moons --width 16 --depth 2 --batch 64 --samples 100)
execute_process(COMMAND ${TIMEOUT} --preserve-status -s TERM 2 ${CLI} train ${train_args} --steps 100000000 --out ${OUT}/run
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 143)
  message(FATAL_ERROR "SIGTERM: exit ${rc}, expected 143: ${err}")
endif()
if(NOT err MATCHES "stopped by signal 15 after step ([0-9]+)")
  message(FATAL_ERROR "SIGTERM: no step in the message: ${err}")
endif()
math(EXPR next "${CMAKE_MATCH_1} + 3")
execute_process(COMMAND ${CLI} train --resume ${OUT}/run --steps ${next} RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "--resume after SIGTERM exited ${rc}: ${err}")
endif()
foreach(k RANGE 1 ${KILLS})
  math(EXPR ms "150 + (${k} * 37) % 200")  # 150–350 ms: start-up, steps and checkpoint writes
  execute_process(COMMAND ${TIMEOUT} -s KILL 0.${ms} ${CLI} train --resume ${OUT}/run --steps 100000000
                          --checkpoint-every 1 RESULT_VARIABLE rc OUTPUT_QUIET ERROR_QUIET)
  file(REMOVE_RECURSE "${OUT}/sampled")
  execute_process(COMMAND ${CLI} sample --checkpoint ${OUT}/run/model.safetensors --n 10 --out ${OUT}/sampled
                  RESULT_VARIABLE rc ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "kill -9 number ${k} (after ${ms} ms) left a checkpoint that does not load: ${err}")
  endif()
endforeach()
