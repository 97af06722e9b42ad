! A plain Fortran MPI program (`use mpi`) for two ranks: the collectives whose blocks share one
! datatype per side, MPI_Alltoallv and MPI_Ialltoallv over both ranks and
! MPI_Neighbor_alltoallv and MPI_Ineighbor_alltoallv on a non-periodic line (one neighbour is
! MPI_PROC_NULL). Each rank sends rows of its 4 x 12 matrix (a row is strided in Fortran's
! column-major order: vector(12, 1, 4) resized to one element, so counts and displacements
! count rows) and receives them as contiguous runs of 12; then MPI_Gatherv, MPI_Igatherv and
! MPI_Scatterv of one row per rank with rank 0 as the root. Every received run is compared with
! the rows computed here, and what must stay untouched is checked to be. Prints
! "fortran_vcollectives[R]: data ok (N checks)" or what differed; run natively and preloaded.
program fortran_vcollectives
  use mpi
  implicit none
  integer, parameter :: rows = 4, cols = 12
  double precision :: a(rows, cols), got(cols, rows)
  integer :: counts(2), displs(2), ncounts(2), ndispls(2), zero(2), request, status(MPI_STATUS_SIZE)
  integer :: row, rowtype, run, line, rank, peer, ierr, i, failures, checks
  integer(kind=MPI_ADDRESS_KIND) :: lb, extent
  logical :: flag

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  peer = 1 - rank
  failures = 0
  checks = 0
  do i = 1, cols
    a(:, i) = [(1000*rank + 100*i + row, row=1, rows)]
  end do
  call MPI_Type_vector(cols, 1, rows, MPI_DOUBLE_PRECISION, row, ierr)
  call MPI_Type_get_extent(MPI_DOUBLE_PRECISION, lb, extent, ierr)
  call MPI_Type_create_resized(row, 0_MPI_ADDRESS_KIND, extent, rowtype, ierr)
  call MPI_Type_commit(rowtype, ierr)
  call MPI_Type_contiguous(cols, MPI_DOUBLE_PRECISION, run, ierr)
  call MPI_Type_commit(run, ierr)
  ! Rows 1-2 go to rank 0, rows 3-4 to rank 1; what comes from rank p lands in runs 2p+1, 2p+2.
  counts = 2
  displs = [0, 2]

  got = 0
  call MPI_Alltoallv(a, counts, displs, rowtype, got, counts, displs, run, MPI_COMM_WORLD, ierr)
  call check_all('alltoallv')

  got = 0
  call MPI_Ialltoallv(a, counts, displs, rowtype, got, counts, displs, run, MPI_COMM_WORLD, &
                      request, ierr)
  flag = .false.
  do while (.not. flag)
    call MPI_Test(request, flag, status, ierr)
  end do
  call MPI_F_SYNC_REG(got)
  call check_all('ialltoallv')

  ! A line of two ranks: rank 0 sends rows 3-4 to its +1 neighbour, rank 1 rows 1-2 to its -1
  ! neighbour; each receives them as runs 2-3 from the neighbour that exists. Runs 1 and 4 stay
  ! untouched.
  call MPI_Cart_create(MPI_COMM_WORLD, 1, [2], [.false.], .false., line, ierr)
  ncounts = 2
  ndispls = [0, 2]
  zero = 0
  got = 0
  call MPI_Neighbor_alltoallv(a, ncounts, ndispls, rowtype, got(1, 2), ncounts, zero, run, &
                              line, ierr)
  call check_line('neighbor_alltoallv')
  got = 0
  call MPI_Ineighbor_alltoallv(a, ncounts, ndispls, rowtype, got(1, 2), ncounts, zero, run, &
                               line, request, ierr)
  call MPI_Wait(request, status, ierr)
  call MPI_F_SYNC_REG(got)
  call check_line('ineighbor_alltoallv')
  call MPI_Comm_free(line, ierr)

  ! Rank p's row p + 1 gathered at rank 0 as run p + 1, blocking and not; then rank 0's rows 1
  ! and 2 scattered as run 1 of ranks 0 and 1.
  got = 0
  call MPI_Gatherv(a(rank + 1, 1), 1, rowtype, got, [1, 1], [0, 1], run, 0, MPI_COMM_WORLD, ierr)
  if (rank == 0) call check('gatherv', is_row(got(:, 1), 0, 1) .and. is_row(got(:, 2), 1, 2))
  got = 0
  call MPI_Igatherv(a(rank + 1, 1), 1, rowtype, got, [1, 1], [0, 1], run, 0, MPI_COMM_WORLD, &
                    request, ierr)
  call MPI_Wait(request, status, ierr)
  call MPI_F_SYNC_REG(got)
  if (rank == 0) call check('igatherv', is_row(got(:, 1), 0, 1) .and. is_row(got(:, 2), 1, 2))
  got = 0
  call MPI_Scatterv(a, [1, 1], [0, 1], rowtype, got, 1, run, 0, MPI_COMM_WORLD, ierr)
  call check('scatterv', is_row(got(:, 1), 0, rank + 1) .and. all(got(:, 2:) == 0))

  call MPI_Type_free(rowtype, ierr)
  call MPI_Type_free(run, ierr)
  call MPI_Type_free(row, ierr)
  if (failures == 0) then
    write (*, '(a,i0,a,i0,a)') 'fortran_vcollectives[', rank, ']: data ok (', checks, ' checks)'
  end if
  flush (6)
  call MPI_Finalize(ierr)
  if (failures /= 0) stop 1

contains

  ! Row `r` of rank `p`'s matrix, as the values a(r, :) hold there.
  logical function is_row(v, p, r)
    double precision, intent(in) :: v(cols)
    integer, intent(in) :: p, r
    integer :: c
    is_row = all(v == [(dble(1000*p + 100*c + r), c=1, cols)])
  end function is_row

  subroutine check_all(what)
    character(*), intent(in) :: what
    integer :: p, k
    do p = 0, 1
      do k = 1, 2
        call check(what, is_row(got(:, 2*p + k), p, 2*rank + k))
      end do
    end do
  end subroutine check_all

  subroutine check_line(what)
    character(*), intent(in) :: what
    ! Both receive slots start at run 2; only one of the two neighbours exists.
    if (rank == 0) then
      ! From rank 1 (its -1 neighbour's slot): rows 1-2 of rank 1.
      call check(what, is_row(got(:, 2), 1, 1) .and. is_row(got(:, 3), 1, 2))
    else
      ! From rank 0 (its +1 neighbour's slot): rows 3-4 of rank 0.
      call check(what, is_row(got(:, 2), 0, 3) .and. is_row(got(:, 3), 0, 4))
    end if
    call check(what, all(got(:, 1) == 0) .and. all(got(:, 4) == 0))
  end subroutine check_line

  subroutine check(what, ok)
    character(*), intent(in) :: what
    logical, intent(in) :: ok
    checks = checks + 1
    if (.not. ok) then
      write (*, '(a,i0,2a)') 'fortran_vcollectives[', rank, ']: wrong data after ', what
      failures = failures + 1
    end if
  end subroutine check
end program fortran_vcollectives
