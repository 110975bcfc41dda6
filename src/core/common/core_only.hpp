// Included first by every core file. The core is plain C++ and must stay
// free of PostgreSQL headers: their ereport() is a longjmp that would skip
// C++ destructors. (The CMake build also compiles the core without any
// PostgreSQL include path, so a PostgreSQL header included by mistake fails there.)
#pragma once
#ifdef PG_VERSION_NUM
#error "core files must not include PostgreSQL headers"
#endif
