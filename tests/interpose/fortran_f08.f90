! A plain Fortran 2008 MPI program (`use mpi_f08`) for two ranks that knows nothing of Strider:
! a vector(30, 3, 7, double precision) goes both ways with Isend/Irecv and Waitall, with
! Sendrecv, and with a persistent pair started once, and is compared with the gather computed
! here (holes stay zero). Prints "fortran_f08[R]: data ok (N checks)" or what differed.
program fortran_f08
  use mpi_f08
  implicit none
  integer, parameter :: nb = 30, bl = 3, st = 7, span = (nb - 1)*st + bl
  double precision :: src(span), got(span), want(span)
  type(MPI_Datatype) :: vtype
  type(MPI_Request) :: reqs(2)
  type(MPI_Status) :: statuses(2), status
  integer :: rank, peer, i, j, failures, checks

  call MPI_Init()
  call MPI_Comm_rank(MPI_COMM_WORLD, rank)
  peer = 1 - rank
  failures = 0
  checks = 0
  call MPI_Type_vector(nb, bl, st, MPI_DOUBLE_PRECISION, vtype)
  call MPI_Type_commit(vtype)
  ! Each rank sends values marked with its own rank and receives its peer's at the vector's
  ! positions.
  do i = 1, span
    src(i) = dble(i) + 1000*rank
  end do
  want = 0
  do i = 0, nb - 1
    do j = 1, bl
      want(i*st + j) = dble(i*st + j) + 1000*peer
    end do
  end do

  got = 0
  call MPI_Irecv(got, 1, vtype, peer, 1, MPI_COMM_WORLD, reqs(1))
  call MPI_Isend(src, 1, vtype, peer, 1, MPI_COMM_WORLD, reqs(2))
  call MPI_Waitall(2, reqs, statuses)
  call check('isend/irecv/waitall', all(got == want) .and. statuses(1)%MPI_SOURCE == peer)

  got = 0
  call MPI_Sendrecv(src, 1, vtype, peer, 2, got, 1, vtype, peer, 2, MPI_COMM_WORLD, status)
  call check('sendrecv', all(got == want) .and. status%MPI_TAG == 2)

  ! `got` is not an argument of the calls that fill it: MPI_F_sync_reg keeps the compiler from
  ! holding it in registers across them.
  got = 0
  call MPI_Recv_init(got, 1, vtype, peer, 3, MPI_COMM_WORLD, reqs(1))
  call MPI_Send_init(src, 1, vtype, peer, 3, MPI_COMM_WORLD, reqs(2))
  call MPI_F_sync_reg(got)
  call MPI_Startall(2, reqs)
  call MPI_Wait(reqs(1), status)
  call MPI_Wait(reqs(2), MPI_STATUS_IGNORE)
  call MPI_F_sync_reg(got)
  call check('persistent', all(got == want) .and. status%MPI_SOURCE == peer)
  call MPI_Request_free(reqs(1))
  call MPI_Request_free(reqs(2))

  call MPI_Type_free(vtype)
  if (failures == 0) write (*, '(a,i0,a,i0,a)') 'fortran_f08[', rank, ']: data ok (', checks, ' checks)'
  flush (6)
  call MPI_Finalize()
  if (failures /= 0) stop 1

contains

  subroutine check(what, ok)
    character(*), intent(in) :: what
    logical, intent(in) :: ok
    checks = checks + 1
    if (.not. ok) then
      write (*, '(a,i0,a,a)') 'fortran_f08[', rank, ']: differs: ', what
      failures = failures + 1
    end if
  end subroutine check

end program fortran_f08
