#ifndef AUTODIFF_CMPI_SHIM_H
#define AUTODIFF_CMPI_SHIM_H

#include <mpi.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

// Open MPI's predefined handles (MPI_COMM_WORLD, MPI_DOUBLE, MPI_SUM, ...) are macros that take
// the address of a global struct, which Swift does not import. Each is wrapped once here.

static inline MPI_Comm autodiff_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Datatype autodiff_mpi_float(void) { return MPI_FLOAT; }
static inline MPI_Datatype autodiff_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype autodiff_mpi_int64(void) { return MPI_INT64_T; }
static inline MPI_Datatype autodiff_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op autodiff_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op autodiff_mpi_max(void) { return MPI_MAX; }
static inline MPI_Info autodiff_mpi_info_null(void) { return MPI_INFO_NULL; }
static inline MPI_Errhandler autodiff_mpi_errors_return(void) { return MPI_ERRORS_RETURN; }
static inline void *autodiff_mpi_in_place(void) { return MPI_IN_PLACE; }
static inline MPI_Request autodiff_mpi_request_null(void) { return MPI_REQUEST_NULL; }
static inline MPI_Status *autodiff_mpi_statuses_ignore(void) { return MPI_STATUSES_IGNORE; }

// A message printed when the process is sent SIGTERM, which is how mpirun ends the other ranks
// once one has failed. The handler may only call async-signal-safe functions, so the text is
// copied here beforehand and written with write(2).

// (Function-local statics: Swift emits the inline functions it calls, but not a header's
// file-scope variables.)

static inline char *autodiff_mpi_termination_text(void) {
  static char text[512];
  return text;
}

static inline size_t *autodiff_mpi_termination_length(void) {
  static size_t length;
  return &length;
}

static inline void autodiff_mpi_on_termination(int signal_number) {
  ssize_t written = write(STDERR_FILENO, autodiff_mpi_termination_text(),
                          *autodiff_mpi_termination_length());
  (void)written;
  _exit(128 + signal_number);
}

/// Installs the SIGTERM handler that prints `text` (cut to 511 bytes) and exits with 143.
static inline int autodiff_mpi_announce_termination(const char *text) {
  size_t length = strlen(text);
  if (length > 511) {
    length = 511;
  }
  memcpy(autodiff_mpi_termination_text(), text, length);
  *autodiff_mpi_termination_length() = length;
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = autodiff_mpi_on_termination;
  sigemptyset(&action.sa_mask);
  return sigaction(SIGTERM, &action, NULL);
}

#endif
