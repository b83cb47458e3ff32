/* server/coro_switch_x86_64.S - tern's context switch and coroutine entry for x86-64
 * (System V ABI). C declarations in coro.h; coro.c builds the first frame to match.
 *
 * Saved frame, from the saved sp upwards (8 slots, 64 bytes):
 *   [sp+0]  MXCSR (4 bytes), x87 control word (2 bytes), 2 bytes unused
 *   [sp+8]  r15    [sp+16] r14    [sp+24] r13    [sp+32] r12
 *   [sp+40] rbx    [sp+48] rbp    [sp+56] return address
 * The ABI makes the MXCSR and x87 control bits callee-saved, so a rounding mode set
 * in one coroutine must not leak into another; saving them costs under 1 ns per pair.
 * No CET property note here: a binary linking this file never runs with shadow
 * stacks or IBT enforced, which a switch of stacks by hand could not live with. */

    .text

/* void tern__ctx_switch(void **save_sp, void *new_sp)
 * tern__ctx_switch_local is the same code under a hidden name, so calls from inside
 * libtern.so go straight here instead of through the PLT. */
    .globl  tern__ctx_switch
    .type   tern__ctx_switch, @function
    .globl  tern__ctx_switch_local
    .hidden tern__ctx_switch_local
    .type   tern__ctx_switch_local, @function
    .p2align 4
tern__ctx_switch:
tern__ctx_switch_local:
    .cfi_startproc
    pushq   %rbp
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset rbp, 0
    pushq   %rbx
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset rbx, 0
    pushq   %r12
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset r12, 0
    pushq   %r13
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset r13, 0
    pushq   %r14
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset r14, 0
    pushq   %r15
    .cfi_adjust_cfa_offset 8
    .cfi_rel_offset r15, 0
    subq    $8, %rsp
    .cfi_adjust_cfa_offset 8
    stmxcsr (%rsp)
    fnstcw  4(%rsp)

    movq    %rsp, (%rdi)
    movq    %rsi, %rsp
    /* From here on the frame is the other context's, laid out the same way, so the
     * CFI above still describes it. */

    ldmxcsr (%rsp)
    fldcw   4(%rsp)
    addq    $8, %rsp
    .cfi_adjust_cfa_offset -8
    popq    %r15
    .cfi_adjust_cfa_offset -8
    .cfi_restore r15
    popq    %r14
    .cfi_adjust_cfa_offset -8
    .cfi_restore r14
    popq    %r13
    .cfi_adjust_cfa_offset -8
    .cfi_restore r13
    popq    %r12
    .cfi_adjust_cfa_offset -8
    .cfi_restore r12
    popq    %rbx
    .cfi_adjust_cfa_offset -8
    .cfi_restore rbx
    popq    %rbp
    .cfi_adjust_cfa_offset -8
    .cfi_restore rbp
    /* pop + jmp, not ret: a ret here would always miss the return-stack predictor
     * (it returns into the other context), and the miss then shifts every later
     * prediction. The indirect jump's alternating targets predict well: a pair
     * took 17.6 ns instead of 26.4 ns in bench/coro_switch.c (AMD EPYC VM). */
    popq    %rcx
    .cfi_adjust_cfa_offset -8
    .cfi_register rip, rcx
    jmpq    *%rcx
    .cfi_endproc
    .size   tern__ctx_switch, . - tern__ctx_switch
    .size   tern__ctx_switch_local, . - tern__ctx_switch_local

/* tern__coro_trampoline: where a fresh coroutine's first switch returns to. coro.c
 * leaves the coroutine in r12 and the C entry (which never returns) in r13; rsp is
 * 16-byte aligned here, so the call below gives the entry the alignment the ABI
 * promises. The return address is undefined for unwinders, which ends backtraces;
 * the leading nop keeps "return address - 1" inside this function's CFI range. */
    .globl  tern__coro_trampoline
    .hidden tern__coro_trampoline
    .type   tern__coro_trampoline_pad, @function
    .p2align 4
tern__coro_trampoline_pad:
    .cfi_startproc
    .cfi_undefined rip
    nop
tern__coro_trampoline:
    movq    %r12, %rdi
    call    *%r13
    ud2
    .cfi_endproc
    .size   tern__coro_trampoline_pad, . - tern__coro_trampoline_pad

    .section .note.GNU-stack, "", @progbits
