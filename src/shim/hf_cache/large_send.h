/*
 * hf_cache/large_send.h — while hf_blob_read_rows() streams, large protocol
 * messages bypass PostgreSQL 15's 8 KiB send buffer (hf_cache/large_send.c).
 */
#ifndef PGMLR_LARGE_SEND_H
#define PGMLR_LARGE_SEND_H

/* Nested calls count; each begin needs its end (also on ERROR). */
extern void pgmlr_large_send_begin(void);
extern void pgmlr_large_send_end(void);

#endif							/* PGMLR_LARGE_SEND_H */
