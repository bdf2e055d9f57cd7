# Run asw-gen twice with the same seed, check the first output with
# asw-gen-check and require the second to be byte-identical.
# Inputs: GEN, CHECK, OUT, PRESET.
foreach(var GEN CHECK OUT PRESET)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "smoke.cmake: ${var} not set")
  endif()
endforeach()

file(REMOVE_RECURSE ${OUT}/a ${OUT}/b)
foreach(dir a b)
  execute_process(COMMAND ${GEN} --out ${OUT}/${dir} --preset ${PRESET}
                          --seed 7
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "asw-gen failed (${rc}) writing ${OUT}/${dir}")
  endif()
endforeach()

execute_process(COMMAND ${CHECK} ${OUT}/a RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "asw-gen-check found problems in ${OUT}/a")
endif()

file(GLOB_RECURSE files RELATIVE ${OUT}/a ${OUT}/a/*)
list(LENGTH files n)
if(n LESS 5)
  message(FATAL_ERROR "only ${n} files in ${OUT}/a")
endif()
foreach(f ${files})
  execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${OUT}/a/${f}
                          ${OUT}/b/${f}
                  RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "not deterministic: ${f} differs between runs")
  endif()
endforeach()
message(STATUS "${n} files checked and reproduced")
