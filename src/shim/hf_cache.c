/* Placeholder: the owner of this area replaces this file. */
#include "shim.h"

void
pgmlr_define_hf_cache_gucs(void)
{
}
