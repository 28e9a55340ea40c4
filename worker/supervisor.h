/*
 * Pre-forking supervisor, nginx style (ngx_process_cycle.c): spawns N
 * children, reaps them, respawns one that exits after a short delay,
 * forwards SIGTERM / SIGINT to all of them and returns once every child has
 * exited. Children are not told when the supervisor itself is SIGKILLed;
 * they keep working until stopped (their state is all in Redis).
 */
#ifndef SALESGATE_WORKER_SUPERVISOR_H
#define SALESGATE_WORKER_SUPERVISOR_H

#define SG_SUPERVISOR_RESPAWN_MS 1000 /* delay before a dead child is replaced */

/*
 * Body of child number index (0 .. n-1), run in the forked process with the
 * signal mask and dispositions of before the supervisor started. Its return
 * value is the child's exit status.
 */
typedef int (*sg_child_main)(int index, void *arg);

/*
 * Runs n children of child_main(index, arg) until SIGTERM or SIGINT, then
 * stops them. Returns 0 once all have exited, or 1 when the supervisor
 * could not start (signals, memory).
 */
int supervisor_run(int n, sg_child_main child_main, void *arg);

#endif
