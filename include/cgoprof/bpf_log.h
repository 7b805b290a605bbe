/* libbpf's messages, for the BPF programs' loaders (gosnap.c, execwatch.c):
 * to cgoprof's debug log (-vv), never to the user's terminal, where the
 * loader's own sentence says what failed. */
#ifndef CGOPROF_BPF_LOG_H
#define CGOPROF_BPF_LOG_H

/* Points libbpf's print callback at the debug log (idempotent). */
void bpf_log__init(void);

#endif
