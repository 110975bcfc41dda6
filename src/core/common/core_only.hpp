// Included first by every core file. The core is plain C++ and must stay
// free of PostgreSQL headers: their ereport() is a longjmp that would skip
// C++ destructors. (The CMake build also compiles the core without any
// PostgreSQL server include path, so a server header included by mistake fails
// there. libpq's client header libpq-fe.h is on the path: it is not a server
// header, and only the upstream source includes it, see scripts/house-check.)
#pragma once
#ifdef PG_VERSION_NUM
#error "core files must not include PostgreSQL headers"
#endif
