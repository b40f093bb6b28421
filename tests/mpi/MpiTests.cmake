# MPI tests: the whole `c2rbench run` under mpirun, checked against the serial reference, and bad
# input refused cleanly. Labelled "mpi".
set(C2R_MPI_DIR ${CMAKE_CURRENT_LIST_DIR})
set(C2R_BIN $<TARGET_FILE:c2rbench>)
set(C2R_SMALL --hidden 64 --ffn 48 --iters 1 --warmup 1)

function(c2r_mpi_check name np cells)
  add_test(NAME ${name} COMMAND ${C2R_MPI_DIR}/run_check.sh ${C2R_BIN} ${np} ${cells} ${ARGN})
  set_tests_properties(${name} PROPERTIES LABELS mpi PROCESSORS ${np} TIMEOUT 300)
endfunction()

function(c2r_mpi_error name np pattern)
  add_test(NAME ${name} COMMAND ${C2R_MPI_DIR}/expect_error.sh ${C2R_BIN} ${np} ${pattern} ${ARGN})
  set_tests_properties(${name} PROPERTIES LABELS mpi TIMEOUT 150)
endfunction()

# Every strategy, both routings, three placements, 1-4 ranks (12 experts divide over 1..4 ranks).
# Grid: vanilla 3 placements x 3 strategies + c2r 2 Top-T x 9 = 27 cells.
foreach(np 1 2 3 4)
  c2r_mpi_check(mpi_check_clustered_np${np} ${np} 27
    --experts 12 --workload clustered --tokens 96 ${C2R_SMALL}
    --routing vanilla,c2r --top-t 1,3 --strategy padded,dropless,dedup
    --placement contiguous,round-robin,collab --capacity-factor 1.0)
  c2r_mpi_check(mpi_check_random_topk3_np${np} ${np} 12
    --experts 12 --top-k 3 --workload random --tokens 64 ${C2R_SMALL}
    --routing vanilla,c2r --top-t 4 --strategy padded,dropless,dedup
    --placement contiguous,collab)
endforeach()
# The same grid with the cells one after another, and with several rounds to interleave.
c2r_mpi_check(mpi_check_sequential_np2 2 12
  --experts 12 --top-k 3 --workload random --tokens 64 --hidden 64 --ffn 48 --iters 3 --warmup 1
  --routing vanilla,c2r --top-t 4 --strategy padded,dropless,dedup --placement contiguous,collab
  --order sequential)
c2r_mpi_check(mpi_check_interleaved_np3 3 12
  --experts 12 --top-k 3 --workload random --tokens 64 --hidden 64 --ffn 48 --iters 4 --warmup 2
  --routing vanilla,c2r --top-t 4 --strategy padded,dropless,dedup --placement contiguous,collab)
# Real LLaMA-MoE routing (trace) on two layers, and Qwen with its shared expert and 60 experts.
foreach(np 2 4)
  c2r_mpi_check(mpi_check_llama_trace_np${np} ${np} 36
    --workload trace --layer 3,17 --tokens 64 ${C2R_SMALL}
    --routing vanilla,c2r --top-t 1,2 --strategy padded,dropless,dedup
    --placement contiguous,collab)
  c2r_mpi_check(mpi_check_qwen_np${np} ${np} 4
    --preset qwen1.5-moe-a2.7b --workload trace --tokens 48 --hidden 64 --ffn 32 --shared-ffn 40
    --iters 1 --warmup 1 --routing vanilla,c2r --strategy dropless,dedup --placement contiguous)
endforeach()

# The exchanges' unit tests across ranks (tests/unit/exchange_test.cpp): every expert receives
# rows from three source ranks, which dropless and padded regroup into one block per expert.
add_test(NAME mpi_exchange_regroup_np3
  COMMAND ${PROJECT_SOURCE_DIR}/scripts/mpirun.sh --oversubscribe --bind-to none 3 $<TARGET_FILE:c2r_unit_tests>
    --gtest_filter=ExchangeAcrossRanks.*:NodeLayout.*)
set_tests_properties(mpi_exchange_regroup_np3 PROPERTIES LABELS mpi PROCESSORS 3 TIMEOUT 150)

# Uneven load, every strategy, checked: different token counts per rank and ranks without tokens
# (synthetic, LLaMA trace, Qwen with its shared expert), every token routed to one expert, and one
# rank receiving every row (itself without tokens).
function(c2r_mpi_load_check name np cells expect)
  c2r_mpi_check(${name} ${np} ${cells} ${ARGN})
  set_property(TEST ${name} APPEND PROPERTY ENVIRONMENT "C2R_TEST_EXPECT=${expect}")
endfunction()
set(C2R_ALL_STRATEGIES --strategy padded,dropless,dedup --capacity-factor 1.0)
c2r_mpi_load_check(mpi_uneven_tokens_np3 3 12 rank-tokens
  --experts 12 --workload random --rank-tokens 40,0,96 ${C2R_SMALL} --routing vanilla,c2r
  --top-t 3 ${C2R_ALL_STRATEGIES} --placement contiguous,collab)
c2r_mpi_load_check(mpi_uneven_trace_np4 4 12 rank-tokens
  --workload trace --layer 3 --rank-tokens 0,64,1,0 ${C2R_SMALL} --routing vanilla,c2r --top-t 1
  ${C2R_ALL_STRATEGIES} --placement contiguous,collab)
c2r_mpi_load_check(mpi_uneven_qwen_np2 2 6 rank-tokens
  --preset qwen1.5-moe-a2.7b --workload trace --rank-tokens 0,48 --hidden 64 --ffn 32
  --shared-ffn 40 --iters 1 --warmup 1 --routing vanilla,c2r ${C2R_ALL_STRATEGIES}
  --placement contiguous)
# Payload types: every strategy sends fp32, bf16 and fp8 rows at 1..4 ranks, checked against the
# reference (the rows' rounding bounded as docs/METRICS.md derives), with rows of the sizes the
# types make (66 channels: bf16 and fp8 rows are padded). Grid per type: vanilla and c2r T=3 x 2
# placements x 3 strategies = 12 cells; 36 in all.
foreach(np 1 2 3 4)
  c2r_mpi_load_check(mpi_check_dtype_np${np} ${np} 36 dtype-bytes
    --experts 12 --workload clustered --tokens 40 --hidden 66 --ffn 48 --iters 1 --warmup 1
    --routing vanilla,c2r --top-t 3 ${C2R_ALL_STRATEGIES} --placement contiguous,collab
    --dtype fp32,bf16,fp8)
endforeach()
# Ranks without tokens and with one token, in every type.
c2r_mpi_load_check(mpi_uneven_dtype_np4 4 36 rank-tokens
  --experts 12 --workload random --rank-tokens 0,1,0,5 --hidden 66 --ffn 48 --iters 1 --warmup 1
  --routing vanilla,c2r --top-t 3 ${C2R_ALL_STRATEGIES} --placement contiguous,collab
  --dtype fp32,bf16,fp8)
# Pipelined layers (--overlap): every strategy in chunks of 3 at 1..4 ranks, in fp32 and fp8,
# checked, each moving its serial twin's rows. Grid per (type, degree): 12 cells; 48 in all.
foreach(np 1 2 3 4)
  c2r_mpi_load_check(mpi_check_overlap_np${np} ${np} 48 overlap-rows
    --experts 12 --workload clustered --tokens 40 --hidden 66 --ffn 48 --iters 1 --warmup 1
    --routing vanilla,c2r --top-t 3 ${C2R_ALL_STRATEGIES} --placement contiguous,collab
    --dtype fp32,fp8 --overlap 1,3)
endforeach()
# Chunks without tokens: ranks of 0, 1 and 5 tokens in 2 and 4 chunks, in every type; and real
# routing in 2 and 8 chunks without progress calls during compute.
c2r_mpi_load_check(mpi_uneven_overlap_np4 4 72 rank-tokens
  --experts 12 --workload random --rank-tokens 0,1,0,5 --hidden 66 --ffn 48 --iters 1 --warmup 1
  --routing vanilla,c2r --top-t 3 ${C2R_ALL_STRATEGIES} --placement contiguous,collab
  --dtype fp32,bf16,fp8 --overlap 2,4)
c2r_mpi_load_check(mpi_check_overlap_wait_np4 4 36 overlap-rows
  --workload trace --layer 4 --tokens 33 ${C2R_SMALL} --routing vanilla,c2r --top-t 1
  ${C2R_ALL_STRATEGIES} --placement contiguous,collab --overlap 1,2,8 --overlap-progress wait)
# Replicated experts (--placement eplb): two hot experts at 1..4 ranks, every strategy, serial and
# pipelined, checked; EPLB's replicas even the rank load that contiguous piles on the hot experts'
# rank. 12 experts + 4 replicas at 1, 2 and 4 ranks, + 6 at 3 (E + replicas divides over the
# ranks). Grid: 2 routings x 3 strategies x 2 placements x 2 degrees = 24 cells. And ranks
# without tokens, in every type.
foreach(np 1 2 3 4)
  set(replicas 4)
  if(np EQUAL 3)
    set(replicas 6)
  endif()
  c2r_mpi_load_check(mpi_check_eplb_np${np} ${np} 24 replicas
    --experts 12 --workload hot --hot-experts 2 --tokens 40 --hidden 66 --ffn 48 --iters 1
    --warmup 1 --routing vanilla,c2r --top-t 3 ${C2R_ALL_STRATEGIES} --placement contiguous,eplb
    --replicas ${replicas} --overlap 1,2)
endforeach()
c2r_mpi_load_check(mpi_uneven_eplb_np4 4 36 rank-tokens
  --experts 12 --workload hot --hot-experts 2 --rank-tokens 0,1,30,17 --hidden 66 --ffn 48
  --iters 1 --warmup 1 --routing vanilla,c2r --top-t 3 ${C2R_ALL_STRATEGIES}
  --placement contiguous,eplb --replicas 8 --dtype fp32,bf16,fp8)
c2r_mpi_load_check(mpi_hot_one_expert_np3 3 12 one-expert
  --experts 12 --workload hot --hot-experts 1 --tokens 64 ${C2R_SMALL} --routing vanilla,c2r
  --top-t 3 ${C2R_ALL_STRATEGIES} --placement contiguous,collab)
c2r_mpi_load_check(mpi_hot_one_rank_np4 4 12 one-rank
  --experts 8 --workload hot --hot-experts 2 --rank-tokens 0,1,30,17 ${C2R_SMALL}
  --routing vanilla,c2r --top-t 1 ${C2R_ALL_STRATEGIES} --placement contiguous,collab)
# The decode regime: 1 to 256 tokens per rank, every strategy, both routings, contiguous and
# collab, at 2 and 4 ranks: padded capacities of one slot, experts and ranks that receive no rows,
# ranks without tokens (--rank-tokens).
foreach(np 2 4)
  foreach(tokens 1 2 3 16 256)
    c2r_mpi_check(mpi_check_decode_tokens${tokens}_np${np} ${np} 12
      --experts 8 --workload random --tokens ${tokens} ${C2R_SMALL} --routing vanilla,c2r
      --top-t 3 --strategy padded,dropless,dedup --placement contiguous,collab)
  endforeach()
  c2r_mpi_check(mpi_check_decode_trace_tokens1_np${np} ${np} 12
    --workload trace --layer 5 --tokens 1 ${C2R_SMALL} --routing vanilla,c2r --top-t 1
    ${C2R_ALL_STRATEGIES} --placement contiguous,collab)
endforeach()
c2r_mpi_load_check(mpi_check_decode_rank_tokens_np2 2 12 rank-tokens
  --experts 8 --workload random --rank-tokens 0,1 ${C2R_SMALL} --routing vanilla,c2r --top-t 3
  ${C2R_ALL_STRATEGIES} --placement contiguous,collab)
c2r_mpi_load_check(mpi_check_decode_rank_tokens_np4 4 12 rank-tokens
  --experts 8 --workload random --rank-tokens 1,0,0,2 ${C2R_SMALL} --routing vanilla,c2r
  --top-t 3 ${C2R_ALL_STRATEGIES} --placement contiguous,collab)
c2r_mpi_load_check(mpi_check_decode_rank_tokens_trace_np4 4 12 rank-tokens
  --workload trace --layer 2 --rank-tokens 1,0,0,2 ${C2R_SMALL} --routing vanilla,c2r --top-t 2
  ${C2R_ALL_STRATEGIES} --placement contiguous,collab --order sequential)
c2r_mpi_load_check(mpi_check_decode_hot_np4 4 12 one-expert
  --experts 8 --workload hot --hot-experts 1 --rank-tokens 0,2,1,0 ${C2R_SMALL}
  --routing vanilla,c2r --top-t 3 ${C2R_ALL_STRATEGIES} --placement contiguous,collab)
# A minimum time per cell: rounds (interleaved) or iterations (sequential) past --iters until every
# cell has 20 ms (50 ms) of layer time, the same on every rank: a 1-token layer takes tens of
# microseconds, so that is about a thousand rounds, well below the default --max-iters 10000 (0.3 s
# hit that cap instead); and --max-iters ending a minimum time that is not reached.
c2r_mpi_check(mpi_check_schedule_min_time_np2 2 12
  --experts 8 --workload random --tokens 1 --hidden 64 --ffn 48 --iters 2 --warmup 1
  --min-time 0.02 --routing vanilla,c2r --top-t 3 --strategy padded,dropless,dedup
  --placement contiguous,collab)
c2r_mpi_check(mpi_check_schedule_min_time_sequential_np4 4 6
  --experts 8 --workload random --rank-tokens 1,0,3,2 --hidden 64 --ffn 48 --iters 2 --warmup 1
  --min-time 0.05 --routing vanilla --strategy padded,dropless,dedup --placement contiguous,collab
  --order sequential)
c2r_mpi_check(mpi_check_schedule_max_iters_np2 2 3
  --experts 8 --workload random --tokens 2 --hidden 64 --ffn 48 --iters 2 --warmup 1
  --min-time 3600 --max-iters 5 --routing vanilla --strategy padded,dropless,dedup
  --placement contiguous)
c2r_mpi_error(mpi_error_max_iters_below_iters 2 "--max-iters 3 is below --iters 4"
  run --min-time 1 --iters 4 --max-iters 3 --out @OUT@)
c2r_mpi_error(mpi_error_rank_tokens_count 2 "--rank-tokens lists 3 counts. the job has 2 ranks"
  run --rank-tokens 4,4,4 --out @OUT@)
c2r_mpi_error(mpi_error_rank_tokens_zero 2 "every count is 0" run --rank-tokens 0,0 --out @OUT@)
c2r_mpi_error(mpi_error_rank_tokens_sweep 2 "--rank-tokens and --sweep cannot be combined"
  run --rank-tokens 4,8 --sweep tokens=8,16 --out @OUT@)

# Rank faults: a rank that exits or stalls mid-run stops the job within a bounded time (the
# watchdog, --timeout 5), with no report. A stalled rank's peers exit with the watchdog's status 4.
function(c2r_mpi_fault name np fault status pattern)
  add_test(NAME ${name} COMMAND ${C2R_MPI_DIR}/run_fault.sh ${C2R_BIN} ${np} ${fault} ${status}
    ${pattern})
  set_tests_properties(${name} PROPERTIES LABELS mpi PROCESSORS ${np} TIMEOUT 150)
endfunction()
c2r_mpi_fault(mpi_fault_exit_np3 3 exit:1 nonzero "rank 1: injected fault: exiting after dispatch")
c2r_mpi_fault(mpi_fault_exit_late_np2 2 exit:0:combine:5 nonzero "exiting after combine")
c2r_mpi_fault(mpi_fault_stall_np3 3 stall:1 4 "error on rank [02]: no progress for")
c2r_mpi_fault(mpi_fault_stall_rank0_np2 2 stall:0:gate 4 "error on rank 1: no progress for")
c2r_mpi_fault(mpi_fault_stall_expert_np4 4 stall:3:expert:2 4 "no progress for .* a rank has died")
c2r_mpi_error(mpi_error_fault_kind 2 "unknown kind 'melt'" run --inject-fault melt:1 --out @OUT@)
c2r_mpi_error(mpi_error_fault_rank 2 "rank 2 is not in the job"
  run --inject-fault stall:2 --out @OUT@)
c2r_mpi_error(mpi_error_fault_phase 2 "unknown phase 'sync'"
  run --inject-fault exit:1:sync --out @OUT@)

# Bad input: one clear message, non-zero exit, no hang, no report.
c2r_mpi_error(mpi_error_unknown_preset 2 "unknown preset 'gpt5'" run --preset gpt5 --out @OUT@)
c2r_mpi_error(mpi_error_unknown_strategy 2 "unknown strategy 'fast'"
  run --strategy dropless,fast --out @OUT@)
c2r_mpi_error(mpi_error_unknown_routing 2 "unknown routing 'best'" run --routing best --out @OUT@)
c2r_mpi_error(mpi_error_unknown_workload 2 "unknown workload" run --workload zipf --out @OUT@)
c2r_mpi_error(mpi_error_top_t_range 2 "--top-t 8 is out of range"
  run --routing c2r --top-t 8 --out @OUT@)
c2r_mpi_error(mpi_error_top_t_no_trace 2 "no llama-moe-3.5b C2R trace for --top-t 7"
  run --routing c2r --top-t 7 --tokens 8 --out @OUT@)
c2r_mpi_error(mpi_error_zero_tokens 2 "--tokens: must be between 1 and" run --tokens 0 --out @OUT@)
c2r_mpi_error(mpi_error_experts_divide 3 "8 experts do not divide over 3 ranks" run --out @OUT@)
c2r_mpi_error(mpi_error_layer_range 2 "--layer 40 is out of range"
  run --layer 40 --tokens 8 --out @OUT@)
c2r_mpi_error(mpi_error_missing_placement 2 "file not found: .*nope.json"
  run --placement @DIR@/nope.json --tokens 8 --out @OUT@)
c2r_mpi_error(mpi_error_missing_data 2 "file not found: .*reference/llama-moe-3.5b-"
  run --data-dir @DIR@ --tokens 8 --out @OUT@)
if(C2R_WITH_NCCL)
  # Built in: on a machine without a GPU every rank stops with the same message; with GPUs, the
  # device layer is checked against the serial reference (skipped here without a device, failed
  # without one under C2R_REQUIRE_GPU=1).
  set(C2R_GPU_OR_SKIP ${PROJECT_SOURCE_DIR}/tests/gpu/run_gpu_or_skip.sh)
  foreach(np 1 2)
    add_test(NAME mpi_check_cuda_np${np} COMMAND ${C2R_GPU_OR_SKIP} ${C2R_MPI_DIR}/run_check.sh ${C2R_BIN} ${np} 12
      --backend cuda --workload trace --tokens 64 ${C2R_SMALL} --routing vanilla,c2r --top-t 1
      --strategy padded,dropless,dedup --placement contiguous,collab --capacity-factor 1.0)
    add_test(NAME mpi_check_cuda_qwen_np${np} COMMAND ${C2R_GPU_OR_SKIP} ${C2R_MPI_DIR}/run_check.sh ${C2R_BIN}
      ${np} 6 --backend cuda --preset qwen1.5-moe-a2.7b --workload trace --tokens 48 --hidden 64
      --ffn 32 --shared-ffn 40 --iters 1 --warmup 1 --routing vanilla,c2r
      --strategy padded,dropless,dedup --placement contiguous)
    # Uneven load on the device: every token to experts 0 and 1 (rank 0 under contiguous), and at
    # 2 ranks a rank without tokens.
    if(np EQUAL 1)
      set(C2R_CUDA_TOKENS --tokens 64)
    else()
      set(C2R_CUDA_TOKENS --rank-tokens 0,64)
    endif()
    add_test(NAME mpi_check_cuda_hot_np${np} COMMAND ${C2R_GPU_OR_SKIP} ${C2R_MPI_DIR}/run_check.sh ${C2R_BIN} ${np} 6
      --backend cuda --workload hot --hot-experts 2 ${C2R_CUDA_TOKENS} ${C2R_SMALL}
      --routing vanilla,c2r --top-t 1 --strategy padded,dropless,dedup --placement contiguous)
    set_tests_properties(mpi_check_cuda_hot_np${np} PROPERTIES ENVIRONMENT C2R_TEST_EXPECT=one-rank)
    # Several ranks on one GPU through the MPI transport: every device kernel's multi-rank layout.
    math(EXPR C2R_SHARED_NP "${np} + 1")
    add_test(NAME mpi_check_cuda_exchange_mpi_np${C2R_SHARED_NP} COMMAND ${C2R_GPU_OR_SKIP}
      ${C2R_MPI_DIR}/run_check.sh ${C2R_BIN} ${C2R_SHARED_NP} 6 --backend cuda --exchange mpi
      --experts 12 --workload random --tokens 48 ${C2R_SMALL} --routing vanilla,c2r --top-t 2
      --strategy padded,dropless,dedup --placement contiguous)
    set_tests_properties(mpi_check_cuda_exchange_mpi_np${C2R_SHARED_NP} PROPERTIES
      LABELS "mpi;gpu" TIMEOUT 300 SKIP_RETURN_CODE 77)
    set_tests_properties(mpi_check_cuda_np${np} mpi_check_cuda_qwen_np${np} mpi_check_cuda_hot_np${np}
      PROPERTIES
      LABELS "mpi;gpu" TIMEOUT 300
      SKIP_RETURN_CODE 77)
  endforeach()
else()
  c2r_mpi_error(mpi_error_cuda_not_built 2 "backend 'cuda' was not built" run --backend cuda --out @OUT@)
endif()
c2r_mpi_error(mpi_error_existing_report 1 "refusing to overwrite existing file"
  run --tokens 8 --out @DIR@/stdout)

# Malformed and truncated files, and placements that do not fit.
function(c2r_mpi_file_error name np pattern setup)
  c2r_mpi_error(${name} ${np} ${pattern} ${ARGN})
  set_property(TEST ${name} APPEND PROPERTY ENVIRONMENT "C2R_TEST_SETUP=${setup}")
endfunction()
c2r_mpi_file_error(mpi_error_malformed_placement 2 "bad.json: malformed JSON"
  "printf '{\"schema\": \"c2rbench.placement\", ' > bad.json"
  run --placement @DIR@/bad.json --tokens 8 --out @OUT@)
c2r_mpi_file_error(mpi_error_placement_ranks 2 "placement is for 4 ranks, the run has 2"
  "printf '{\"schema\":\"c2rbench.placement\",\"schema_version\":1,\"experts\":8,\"ranks\":4,\"expert_rank\":[0,0,1,1,2,2,3,3]}' > p.json"
  run --placement @DIR@/p.json --tokens 8 --out @OUT@)
c2r_mpi_file_error(mpi_error_placement_unbalanced 2 "gives rank 0 5 experts"
  "printf '{\"schema\":\"c2rbench.placement\",\"schema_version\":1,\"experts\":8,\"ranks\":2,\"expert_rank\":[0,0,0,0,0,1,1,1]}' > p.json"
  run --placement @DIR@/p.json --tokens 8 --out @OUT@)
c2r_mpi_file_error(mpi_error_truncated_trace 2 "llama-moe-3.5b-vanilla.json: malformed JSON"
  "mkdir -p reference && head -c 3000 ${PROJECT_SOURCE_DIR}/data/reference/llama-moe-3.5b-vanilla.json > reference/llama-moe-3.5b-vanilla.json"
  run --data-dir @DIR@ --routing vanilla --tokens 8 --out @OUT@)

# A user's routing trace (--trace): refused, naming the flag and the file, when it is missing,
# malformed or truncated (its .npy files too), of another preset's shape, without the model's
# sizes, without a layer asked for, repeating an expert in a token, or of experts that do not
# divide over the ranks. (tests/CMakeLists.txt runs a valid one: mpi_user_trace_np2.)
set(C2R_USER_TRACE "printf '{\"schema\":\"c2rbench.trace\",\"schema_version\":1,\"experts\":16,\"top_k\":4,\"layers\":[{\"layer\":0,\"expert_ids\":[[0,1,2,3],[4,5,6,7]]},{\"layer\":2,\"expert_ids\":[[8,9,10,11]]}]}' > t.json")
set(C2R_TRACE_SIZES --hidden 64 --ffn 32 --tokens 8)
c2r_mpi_error(mpi_error_trace_missing 2 "--trace: file not found: .*nope.json"
  run --trace @DIR@/nope.json ${C2R_TRACE_SIZES} --out @OUT@)
c2r_mpi_file_error(mpi_error_trace_malformed 2 "--trace: .*t.json: malformed JSON"
  "printf '{\"schema\": \"c2rbench.trace\", \"layers\": [' > t.json"
  run --trace @DIR@/t.json ${C2R_TRACE_SIZES} --out @OUT@)
c2r_mpi_file_error(mpi_error_trace_npy_truncated 2
  "ids.npy: .npy data is 4 bytes. shape .2, 4. of <i4 needs 32 .truncated file. .layers.0..expert_ids_npy of .*m.json"
  "printf '{\"schema\":\"c2rbench.trace\",\"schema_version\":1,\"experts\":16,\"top_k\":4,\"layers\":[{\"layer\":0,\"expert_ids_npy\":\"ids.npy\"}]}' > m.json && printf \"\\223NUMPY\\001\\000\\074\\000{'descr': '<i4', 'fortran_order': False, 'shape': (2, 4), }\\n\\001\\000\\000\\000\" > ids.npy"
  run --trace @DIR@/m.json ${C2R_TRACE_SIZES} --out @OUT@)
c2r_mpi_file_error(mpi_error_trace_preset 2
  "t.json has 16 experts and top-4. --preset llama-moe-3.5b has 8 experts and top-2"
  "${C2R_USER_TRACE}" run --trace @DIR@/t.json --preset llama-moe-3.5b --tokens 8 --out @OUT@)
c2r_mpi_file_error(mpi_error_trace_sizes 2
  "gives the routing, not the model's sizes: give its --hidden and --ffn"
  "${C2R_USER_TRACE}" run --trace @DIR@/t.json --tokens 8 --out @OUT@)
c2r_mpi_file_error(mpi_error_trace_layer 2 "--layer 1 is not in --trace .*t.json .its layers: 0, 2."
  "${C2R_USER_TRACE}" run --trace @DIR@/t.json ${C2R_TRACE_SIZES} --layer 1 --out @OUT@)
c2r_mpi_file_error(mpi_error_trace_experts_divide 3 "16 experts do not divide over 3 ranks"
  "${C2R_USER_TRACE}" run --trace @DIR@/t.json ${C2R_TRACE_SIZES} --out @OUT@)
c2r_mpi_file_error(mpi_error_trace_repeated_expert 2 "layers.0..expert_ids.1. repeats expert 4"
  "printf '{\"schema\":\"c2rbench.trace\",\"schema_version\":1,\"experts\":16,\"top_k\":4,\"layers\":[{\"layer\":0,\"expert_ids\":[[0,1,2,3],[4,5,4,7]]}]}' > t.json"
  run --trace @DIR@/t.json ${C2R_TRACE_SIZES} --out @OUT@)
c2r_mpi_file_error(mpi_error_tune_trace_layer 2 "--layer 5 is not in --trace .*t.json"
  "${C2R_USER_TRACE}" tune --trace @DIR@/t.json ${C2R_TRACE_SIZES} --layer 5 --out @OUT@)

# Ranks started with different arguments (MPMD launch) are refused, not deadlocked.
c2r_mpi_error(mpi_error_mismatched_ranks 1 "rank 1's configuration differs from rank 0's"
  run --tokens 8 --out @OUT@ : -np 1 ${C2R_BIN} run --tokens 16 --out @OUT@)

# `c2rbench topo`: the cluster profile at 2 and 3 ranks, and refusing to overwrite.
foreach(np 2 3)
  add_test(NAME mpi_topo_np${np} COMMAND ${C2R_MPI_DIR}/run_topo.sh ${C2R_BIN} ${np})
  set_tests_properties(mpi_topo_np${np} PROPERTIES LABELS mpi TIMEOUT 150)
endforeach()
c2r_mpi_error(mpi_error_topo_existing 2 "refusing to overwrite existing file" topo --out @DIR@/stdout)

# `c2rbench tune`: validated on this job's ranks, then its tuning file used by `run`; a simulated
# cluster; and the tuner's bad input.
foreach(np 2 4)
  add_test(NAME mpi_tune_validate_np${np} COMMAND ${C2R_MPI_DIR}/run_tune.sh ${C2R_BIN} ${np})
  set_tests_properties(mpi_tune_validate_np${np} PROPERTIES LABELS mpi PROCESSORS ${np} TIMEOUT 400)
endforeach()
add_test(NAME mpi_tune_overlap_np2 COMMAND ${C2R_MPI_DIR}/run_tune_overlap.sh ${C2R_BIN} 2)
set_tests_properties(mpi_tune_overlap_np2 PROPERTIES LABELS mpi PROCESSORS 2 TIMEOUT 300)
add_test(NAME mpi_tune_simulation COMMAND ${C2R_MPI_DIR}/run_tune_simulation.sh ${C2R_BIN}
  ${PROJECT_SOURCE_DIR}/examples/clusters/dgx-h100-8x8.json)
set_tests_properties(mpi_tune_simulation PROPERTIES LABELS mpi TIMEOUT 400)

set(C2R_SPEC_8X8 ${PROJECT_SOURCE_DIR}/examples/clusters/dgx-h100-8x8.json)
c2r_mpi_file_error(mpi_error_tune_profile_ranks 2 "cluster profile was measured for 3 ranks"
  "printf '{\\\"schema\\\":\\\"c2rbench.cluster\\\",\\\"schema_version\\\":1,\\\"ranks\\\":3,\\\"places\\\":[{\\\"rank\\\":0,\\\"host\\\":\\\"h\\\",\\\"node\\\":0,\\\"cpuset\\\":\\\"0\\\",\\\"packages\\\":[0],\\\"numa_nodes\\\":[0],\\\"cores\\\":1,\\\"nearby_devices\\\":[]},{\\\"rank\\\":1,\\\"host\\\":\\\"h\\\",\\\"node\\\":0,\\\"cpuset\\\":\\\"0\\\",\\\"packages\\\":[0],\\\"numa_nodes\\\":[0],\\\"cores\\\":1,\\\"nearby_devices\\\":[]},{\\\"rank\\\":2,\\\"host\\\":\\\"h\\\",\\\"node\\\":0,\\\"cpuset\\\":\\\"0\\\",\\\"packages\\\":[0],\\\"numa_nodes\\\":[0],\\\"cores\\\":1,\\\"nearby_devices\\\":[]}],\\\"latency_s\\\":[1e-06,1e-06,1e-06,1e-06,1e-06,1e-06,1e-06,1e-06,1e-06],\\\"bandwidth_Bps\\\":[1000000000.0,1000000000.0,1000000000.0,1000000000.0,1000000000.0,1000000000.0,1000000000.0,1000000000.0,1000000000.0],\\\"alltoall\\\":{\\\"bytes\\\":[1,2],\\\"seconds\\\":[1,2],\\\"fit_latency_s\\\":0,\\\"fit_bandwidth_Bps\\\":1}}' > p.json"
  tune --cluster @DIR@/p.json --layer 0 --out @OUT@)
# A profile of other hosts is not this job's ranks, which the tuning would call it.
c2r_mpi_file_error(mpi_error_tune_profile_hosts 2 "cluster profile measured rank [01] on host no-such-host"
  "printf '{\\\"schema\\\":\\\"c2rbench.cluster\\\",\\\"schema_version\\\":1,\\\"ranks\\\":2,\\\"places\\\":[{\\\"rank\\\":0,\\\"host\\\":\\\"no-such-host\\\",\\\"node\\\":0,\\\"cpuset\\\":\\\"0\\\",\\\"packages\\\":[0],\\\"numa_nodes\\\":[0],\\\"cores\\\":1,\\\"nearby_devices\\\":[]},{\\\"rank\\\":1,\\\"host\\\":\\\"no-such-host\\\",\\\"node\\\":0,\\\"cpuset\\\":\\\"0\\\",\\\"packages\\\":[0],\\\"numa_nodes\\\":[0],\\\"cores\\\":1,\\\"nearby_devices\\\":[]}],\\\"latency_s\\\":[0,1e-06,1e-06,0],\\\"bandwidth_Bps\\\":[0,1000000000.0,1000000000.0,0],\\\"alltoall\\\":{\\\"bytes\\\":[1,2],\\\"seconds\\\":[1,2],\\\"fit_latency_s\\\":0,\\\"fit_bandwidth_Bps\\\":1}}' > p.json"
  tune --cluster @DIR@/p.json --layer 0 --out @OUT@)
c2r_mpi_file_error(mpi_error_tune_malformed_cluster 2 "c.json: malformed JSON"
  "printf '{\"schema\": \"c2rbench.cluster-spec\", \"nodes\": ' > c.json"
  tune --cluster @DIR@/c.json --out @OUT@)
c2r_mpi_error(mpi_error_tune_infeasible 1 "infeasible balance: 8 experts over 64 ranks"
  tune --cluster ${C2R_SPEC_8X8} --out @OUT@)
c2r_mpi_error(mpi_error_tune_validate_described 2 "cannot validate the described cluster"
  tune --cluster ${C2R_SPEC_8X8} --validate --out @OUT@)
c2r_mpi_error(mpi_error_tune_padded 2 "tune --strategy padded" tune --strategy padded --out @OUT@)
c2r_mpi_error(mpi_error_tune_existing 2 "refusing to overwrite existing file"
  tune --out @DIR@/stdout)
c2r_mpi_error(mpi_error_tune_experts_divide 3 "8 experts do not divide over 3 ranks"
  tune --out @OUT@)
c2r_mpi_file_error(mpi_error_tuning_other_model 2 "tuning file is for model qwen1.5-moe-a2.7b, the run is llama-moe-3.5b"
  "printf '{\"schema\":\"c2rbench.tuning\",\"schema_version\":1,\"model\":{\"preset\":\"qwen1.5-moe-a2.7b\"},\"experts\":8,\"ranks\":2,\"layers\":[{\"layer\":0,\"expert_rank\":[0,0,0,0,1,1,1,1]}]}' > t.json"
  run --placement @DIR@/t.json --tokens 8 --out @OUT@)

# `c2rbench compare`: identical reports, a 50% slower copy beyond --threshold, another schema.
# run and tune read options from TOML files (--config) and repeat a recorded run (--config-from).
add_test(NAME mpi_config_files COMMAND ${C2R_MPI_DIR}/run_config_files.sh ${C2R_BIN})
set_tests_properties(mpi_config_files PROPERTIES LABELS mpi PROCESSORS 2 TIMEOUT 300)

# scripts/mpirun.sh binds ranks that fit to cores of their own, refuses more ranks than cores
# unless asked, and run warns about ranks that share cores.
add_test(NAME mpi_binding COMMAND ${C2R_MPI_DIR}/run_binding.sh ${C2R_BIN})
set_tests_properties(mpi_binding PROPERTIES LABELS mpi PROCESSORS 2 TIMEOUT 300)

add_test(NAME mpi_compare COMMAND ${C2R_MPI_DIR}/run_compare.sh ${C2R_BIN})
set_tests_properties(mpi_compare PROPERTIES LABELS mpi TIMEOUT 150)

# `c2rbench report --html`: SVG elements counted, rendered by headless Chromium.
add_test(NAME mpi_html_report COMMAND ${C2R_MPI_DIR}/run_html_report.sh ${C2R_BIN})
set_tests_properties(mpi_html_report PROPERTIES LABELS mpi TIMEOUT 300
  SKIP_REGULAR_EXPRESSION "SKIPPED: no chromium")

# Sweeps over tokens (one report) and over ranks (scripts/sweep_ranks.sh), plotted.
add_test(NAME mpi_sweep COMMAND ${C2R_MPI_DIR}/run_sweep.sh ${C2R_BIN})
set_tests_properties(mpi_sweep PROPERTIES LABELS mpi TIMEOUT 300)

# Determinism: routing bit-identical for 1..4 ranks, traffic identical on repeated runs.
add_test(NAME mpi_determinism COMMAND ${C2R_MPI_DIR}/run_determinism.sh ${C2R_BIN})
set_tests_properties(mpi_determinism PROPERTIES LABELS mpi TIMEOUT 400)

# Memory: a run estimated above --max-memory is refused before anything is allocated.
c2r_mpi_error(mpi_error_max_memory 2 "more than --max-memory 64.00 MiB"
  run --max-memory 64MiB --out @OUT@)
c2r_mpi_error(mpi_error_max_memory_malformed 2 "--max-memory 'lots' is not a size"
  run --max-memory lots --out @OUT@)
c2r_mpi_error(mpi_error_max_memory_tune 2 "more than --max-memory 64.00 MiB"
  tune --layer 0 --max-memory 64MiB --out @OUT@)
c2r_mpi_error(mpi_error_max_memory_topo 2 "bandwidth probe buffer 1.00 GiB.*more than --max-memory 512.00 MiB"
  topo --large-bytes 1073741824 --max-memory 512MiB --out @OUT@)
c2r_mpi_error(mpi_error_max_memory_topo_malformed 2 "--max-memory 'lots' is not a size"
  topo --max-memory lots --out @OUT@)
# Sizes past 64 bits (2^62 tokens x hidden x 4 bytes) are estimated as such and refused, not
# wrapped around to a size that passes (and crashes the allocation that trusts it).
c2r_mpi_error(mpi_error_memory_run_tokens_2to62 2 "would need about 8 EiB or more .*more than --max-memory"
  run --tokens 4611686018427387904 --out @OUT@)
c2r_mpi_error(mpi_error_memory_run_tokens_2to62_limit 1 "would need about 8 EiB or more .*more than --max-memory"
  run --tokens 4611686018427387904 --max-memory 1e30 --out @OUT@)
c2r_mpi_error(mpi_error_memory_tune_tokens_2to62 1 "would need about 8 EiB or more .*more than --max-memory"
  tune --hidden 64 --ffn 32 --tokens 4611686018427387904 --layer 0 --out @OUT@)
c2r_mpi_error(mpi_error_memory_tune_simulated_sample 1 "would need about 8 EiB or more .*--sample-tokens"
  tune --cluster ${PROJECT_SOURCE_DIR}/examples/clusters/dgx-h100-8x8.json --experts 64
  --workload clustered --sample-tokens 4611686018427387904 --out @OUT@)

# A trace is read or the command fails naming it: never a synthetic routing labelled `trace`.
c2r_mpi_error(mpi_error_data_dir_missing 2 "data directory .*/missing does not exist"
  run --routing vanilla --data-dir @DIR@/missing --tokens 8 --out @OUT@)
c2r_mpi_error(mpi_error_data_dir_not_directory 2 "data directory .*/stdout is not a directory"
  run --workload random --data-dir @DIR@/stdout --tokens 8 --out @OUT@)
c2r_mpi_file_error(mpi_error_data_dir_empty_vanilla 2
  "file not found: .*/empty/reference/llama-moe-3.5b-vanilla.json" "mkdir empty"
  run --routing vanilla --data-dir @DIR@/empty --tokens 8 --out @OUT@)
c2r_mpi_file_error(mpi_error_data_dir_empty 2
  "file not found: .*/empty/reference/llama-moe-3.5b-vanilla.json" "mkdir empty"
  run --data-dir @DIR@/empty --tokens 8 --out @OUT@)
c2r_mpi_file_error(mpi_error_data_dir_empty_qwen_vanilla 2
  "file not found: .*/empty/reference/qwen1.5-moe-a2.7b-collaborative-list.json" "mkdir empty"
  run --preset qwen1.5-moe-a2.7b --routing vanilla --data-dir @DIR@/empty --tokens 8 --hidden 64
  --ffn 32 --shared-ffn 40 --out @OUT@)
c2r_mpi_file_error(mpi_error_data_dir_empty_tune 2
  "file not found: .*/empty/reference/llama-moe-3.5b-vanilla.json" "mkdir empty"
  tune --routing vanilla --data-dir @DIR@/empty --tokens 8 --layer 0 --out @OUT@)
c2r_mpi_file_error(mpi_error_data_dir_empty_tune_c2r 2
  "no llama-moe-3.5b C2R trace for any Top-T .missing .*/empty/reference/llama-moe-3.5b-c2r-topt1.json"
  "mkdir empty" tune --data-dir @DIR@/empty --tokens 8 --layer 0 --out @OUT@)

# tune --validate measures the workload it tuned for (every workload option reaches the runs).
add_test(NAME mpi_tune_validate_hot_np2 COMMAND ${C2R_MPI_DIR}/run_tune_hot.sh ${C2R_BIN} 2 4)
set_tests_properties(mpi_tune_validate_hot_np2 PROPERTIES LABELS mpi PROCESSORS 2 TIMEOUT 300)
add_test(NAME mpi_partial_results COMMAND ${C2R_MPI_DIR}/run_partial.sh ${C2R_BIN})
set_tests_properties(mpi_partial_results PROPERTIES LABELS mpi PROCESSORS 2 TIMEOUT 300)
add_test(NAME mpi_csv_np2 COMMAND ${C2R_MPI_DIR}/run_csv.sh ${C2R_BIN} 2)
set_tests_properties(mpi_csv_np2 PROPERTIES LABELS mpi PROCESSORS 2 TIMEOUT 300)
add_test(NAME mpi_tune_replicas_np4 COMMAND ${C2R_MPI_DIR}/run_tune_replicas.sh ${C2R_BIN} 4)
set_tests_properties(mpi_tune_replicas_np4 PROPERTIES LABELS mpi PROCESSORS 4 TIMEOUT 300)

# The cost model meets its targets (Spearman >= 0.8, layer error <= 20%) on a layer whose placements
# differ strongly; run alone, as its measurement is a timing. Labelled "timing" too: under the
# sanitizers the phases slow down unevenly (instrumented copies, uninstrumented BLAS), which says
# nothing about the model, so scripts/sanitize.sh leaves it out.
add_test(NAME mpi_tune_targets_np2 COMMAND ${C2R_MPI_DIR}/run_tune_targets.sh ${C2R_BIN} 2)
set_tests_properties(mpi_tune_targets_np2 PROPERTIES LABELS "mpi;timing" PROCESSORS 2 TIMEOUT 300
                     RUN_SERIAL TRUE)

# A strategy registered by a test program (tests/strategy/reversed_dropless.cpp), nowhere else:
# parsed, checked against the serial reference with dropless's traffic, in the memory estimate,
# tuned for (cost model and placement search) and validated by measurement.
set(C2R_TEST_STRATEGY_BIN $<TARGET_FILE:c2rbench_test_strategy>)
add_test(NAME mpi_test_strategy_check_np3
  COMMAND ${C2R_MPI_DIR}/run_check.sh ${C2R_TEST_STRATEGY_BIN} 3 16
    --experts 12 --workload random --tokens 64 ${C2R_SMALL} --routing vanilla,c2r --top-t 3
    --strategy reversed-dropless,dropless --placement contiguous,collab --overlap 1,2)
set_tests_properties(mpi_test_strategy_check_np3 PROPERTIES LABELS mpi PROCESSORS 3 TIMEOUT 300
  ENVIRONMENT "C2R_TEST_EXPECT=dropless-traffic")
add_test(NAME mpi_test_strategy_tune_np2
  COMMAND ${C2R_MPI_DIR}/run_tune.sh ${C2R_TEST_STRATEGY_BIN} 2 reversed-dropless)
set_tests_properties(mpi_test_strategy_tune_np2 PROPERTIES LABELS mpi PROCESSORS 2 TIMEOUT 400)
add_test(NAME mpi_test_strategy_memory
  COMMAND ${C2R_MPI_DIR}/expect_error.sh ${C2R_TEST_STRATEGY_BIN} 2 "exchange buffers"
    run --strategy reversed-dropless --max-memory 1MiB --out @OUT@)
set_tests_properties(mpi_test_strategy_memory PROPERTIES LABELS mpi TIMEOUT 150)
add_test(NAME mpi_test_strategy_unknown
  COMMAND ${C2R_MPI_DIR}/expect_error.sh ${C2R_TEST_STRATEGY_BIN} 2
    "known: padded, dropless, dedup, reversed-dropless" run --strategy reversed --out @OUT@)
set_tests_properties(mpi_test_strategy_unknown PROPERTIES LABELS mpi TIMEOUT 150)

add_test(NAME mpi_test_strategy_dtype
  COMMAND ${C2R_MPI_DIR}/expect_error.sh ${C2R_TEST_STRATEGY_BIN} 2
    "--strategy reversed-dropless does not send --dtype bf16 rows"
    run --strategy reversed-dropless,dropless --dtype fp32,bf16 --out @OUT@)
set_tests_properties(mpi_test_strategy_dtype PROPERTIES LABELS mpi TIMEOUT 150)
c2r_mpi_error(mpi_error_dtype_unknown 1 "unknown payload type 'fp16'" run --dtype fp16 --out @OUT@)
c2r_mpi_error(mpi_error_overlap_progress 1 "unknown --overlap-progress 'poll'"
  run --overlap 2 --overlap-progress poll --out @OUT@)
if(C2R_WITH_NCCL)  # without the backend, --backend cuda is refused first
  c2r_mpi_error(mpi_error_exchange_nccl_cpu 1 "--exchange nccl needs --backend cuda"
    run --exchange nccl --out @OUT@)
  c2r_mpi_error(mpi_error_exchange_unknown 2 "unknown --exchange 'shm'"
    run --backend cuda --exchange shm --out @OUT@)
  c2r_mpi_error(mpi_error_dtype_cuda 1 "--dtype bf16 and fp8 run on the cpu backend only"
    run --backend cuda --dtype bf16 --out @OUT@)
  c2r_mpi_error(mpi_error_overlap_cuda 1 "--overlap above 1 runs on the cpu backend only"
    run --backend cuda --overlap 1,2 --out @OUT@)
endif()

# Hostile input (tests/hostile/hostile_input.sh): bad numbers and lists, option-parse errors, every
# file reader given FIFOs, devices, directories, loops, empty, truncated, malformed, foreign, huge
# and impossible files, bad output paths, a closed or full stdout, concurrent runs, SIGTERM and
# ranks launched with different configurations; each bad input exits 2 with one message naming it,
# within a bounded time, writing nothing. Runs several singletons at once, so alone.
add_test(NAME mpi_hostile_input
  COMMAND ${PROJECT_SOURCE_DIR}/tests/hostile/hostile_input.sh ${C2R_BIN} ${PROJECT_SOURCE_DIR}/scripts)
set_tests_properties(mpi_hostile_input PROPERTIES LABELS "mpi;hostile" RUN_SERIAL TRUE TIMEOUT 900)
# Replicated experts: slots that do not divide over the ranks, a replica list that leaves an
# expert without a rank (a version 2 placement file), and the cuda backend, which does not route
# replicas.
c2r_mpi_error(mpi_error_eplb_replicas 3 "12 experts \\+ 5 replicas do not divide over 3 ranks"
  run --experts 12 --placement eplb --replicas 5 --tokens 8 --out @OUT@)
c2r_mpi_file_error(mpi_error_replica_file 2 "gives expert 3 no rank"
  "printf '{\"schema\":\"c2rbench.placement\",\"schema_version\":2,\"experts\":4,\"ranks\":2,\"rank_experts\":[[0,1,1],[2,2,0]]}' > p.json"
  run --experts 4 --workload random --placement @DIR@/p.json --tokens 8 --out @OUT@)
c2r_mpi_file_error(mpi_error_replica_file_v1 2 "needs schema_version 2"
  "printf '{\"schema\":\"c2rbench.placement\",\"schema_version\":1,\"experts\":4,\"ranks\":2,\"rank_experts\":[[0,1,1],[2,3,0]]}' > p.json"
  run --experts 4 --workload random --placement @DIR@/p.json --tokens 8 --out @OUT@)
if(C2R_WITH_NCCL)
  c2r_mpi_error(mpi_error_eplb_cuda 2 "runs on the cpu backend only"
    run --backend cuda --placement eplb --out @OUT@)
endif()
