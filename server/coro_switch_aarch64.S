/* server/coro_switch_aarch64.S - tern's context switch and coroutine entry for aarch64
 * (AAPCS64). C declarations in coro.h; coro.c builds the first frame to match.
 *
 * Saved frame, from the saved sp upwards (20 slots, 160 bytes, keeps sp 16-aligned):
 *   [sp+0]   x19 x20   [sp+16]  x21 x22   [sp+32]  x23 x24   [sp+48]  x25 x26
 *   [sp+64]  x27 x28   [sp+80]  x29 x30   [sp+96]  d8  d9    [sp+112] d10 d11
 *   [sp+128] d12 d13   [sp+144] d14 d15
 * Only the low 64 bits of v8-v15 are callee-saved, hence d8-d15. */

    .text

/* void tern__ctx_switch(void **save_sp, void *new_sp)
 * tern__ctx_switch_local is the same code under a hidden name, so calls from inside
 * libtern.so go straight here instead of through the PLT. */
    .globl  tern__ctx_switch
    .type   tern__ctx_switch, %function
    .globl  tern__ctx_switch_local
    .hidden tern__ctx_switch_local
    .type   tern__ctx_switch_local, %function
    .p2align 4
tern__ctx_switch:
tern__ctx_switch_local:
    .cfi_startproc
    sub     sp, sp, #160
    .cfi_def_cfa_offset 160
    stp     x19, x20, [sp, #0]
    stp     x21, x22, [sp, #16]
    stp     x23, x24, [sp, #32]
    stp     x25, x26, [sp, #48]
    stp     x27, x28, [sp, #64]
    stp     x29, x30, [sp, #80]
    stp     d8,  d9,  [sp, #96]
    stp     d10, d11, [sp, #112]
    stp     d12, d13, [sp, #128]
    stp     d14, d15, [sp, #144]
    .cfi_offset x19, -160
    .cfi_offset x20, -152
    .cfi_offset x21, -144
    .cfi_offset x22, -136
    .cfi_offset x23, -128
    .cfi_offset x24, -120
    .cfi_offset x25, -112
    .cfi_offset x26, -104
    .cfi_offset x27, -96
    .cfi_offset x28, -88
    .cfi_offset x29, -80
    .cfi_offset x30, -72
    .cfi_offset d8,  -64
    .cfi_offset d9,  -56
    .cfi_offset d10, -48
    .cfi_offset d11, -40
    .cfi_offset d12, -32
    .cfi_offset d13, -24
    .cfi_offset d14, -16
    .cfi_offset d15, -8

    mov     x2, sp
    str     x2, [x0]
    mov     sp, x1
    /* From here on the frame is the other context's, laid out the same way, so the
     * CFI above still describes it. */

    ldp     x19, x20, [sp, #0]
    ldp     x21, x22, [sp, #16]
    ldp     x23, x24, [sp, #32]
    ldp     x25, x26, [sp, #48]
    ldp     x27, x28, [sp, #64]
    ldp     x29, x30, [sp, #80]
    ldp     d8,  d9,  [sp, #96]
    ldp     d10, d11, [sp, #112]
    ldp     d12, d13, [sp, #128]
    ldp     d14, d15, [sp, #144]
    add     sp, sp, #160
    .cfi_def_cfa_offset 0
    .cfi_restore x19
    .cfi_restore x20
    .cfi_restore x21
    .cfi_restore x22
    .cfi_restore x23
    .cfi_restore x24
    .cfi_restore x25
    .cfi_restore x26
    .cfi_restore x27
    .cfi_restore x28
    .cfi_restore x29
    .cfi_restore x30
    .cfi_restore d8
    .cfi_restore d9
    .cfi_restore d10
    .cfi_restore d11
    .cfi_restore d12
    .cfi_restore d13
    .cfi_restore d14
    .cfi_restore d15
    /* ret, not br x30: return sites carry no BTI landing pad, and only ret is exempt
     * from BTI checks on guarded pages. */
    ret
    .cfi_endproc
    .size   tern__ctx_switch, . - tern__ctx_switch
    .size   tern__ctx_switch_local, . - tern__ctx_switch_local

/* tern__coro_trampoline: where a fresh coroutine's first switch returns to (through
 * x30). coro.c leaves the coroutine in x19, the C entry (which never returns) in x20,
 * and x29 = 0 so frame-pointer walks stop here; sp is 16-byte aligned as always.
 * x30 is undefined for unwinders, which ends backtraces; the leading nop keeps
 * "return address - 4" inside this function's CFI range. */
    .globl  tern__coro_trampoline
    .hidden tern__coro_trampoline
    .type   tern__coro_trampoline_pad, %function
    .p2align 4
tern__coro_trampoline_pad:
    .cfi_startproc
    .cfi_undefined x30
    nop
tern__coro_trampoline:
    mov     x0, x19
    blr     x20
    brk     #1
    .cfi_endproc
    .size   tern__coro_trampoline_pad, . - tern__coro_trampoline_pad

    .section .note.GNU-stack, "", %progbits
