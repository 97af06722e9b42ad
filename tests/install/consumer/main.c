/* Uses the installed header and library: enough for the linker to resolve MPI_* and
 * strider_version against libstrider.so. Built by the install_consumer test, not run. */
#include <mpi.h>
#include <strider/strider.h>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  MPI_Datatype column;
  MPI_Type_vector(4, 1, 4, MPI_DOUBLE, &column);
  MPI_Type_commit(&column);
  double matrix[16] = {0};
  char packed[64];
  int position = 0;
  MPI_Pack(matrix, 1, column, packed, (int)sizeof packed, &position, MPI_COMM_WORLD);
  MPI_Type_free(&column);
  MPI_Finalize();
  return position == 4 * (int)sizeof(double) && strider_version() > 0 ? 0 : 1;
}
