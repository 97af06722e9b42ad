! A plain Fortran MPI program (`use mpi`) for two ranks: the nonblocking collectives whose
! every block has a datatype of its own, MPI_Ineighbor_alltoallw (a non-periodic line, so one
! neighbour is MPI_PROC_NULL, and a periodic ring, where both neighbours are the peer) and
! MPI_Ialltoallw, each moving one vector(40, 2, 5, double precision) per block, completed by
! MPI_Wait, an MPI_Test loop and MPI_Waitall. Every received half is compared with the gather
! computed here (holes stay zero). Prints "fortran_nonblocking[R]: data ok (N checks)" or what
! differed.
!
! Run only with Strider preloaded: without it, Open MPI 4.1.4's Fortran bindings of these two
! calls free the C handle arrays they convert the datatypes into while the MPI still reads them
! at completion (to release the datatypes it retained), and a derived datatype crashes the
! program there. Strider's Fortran entry points and its C path keep them until completion.
program fortran_nonblocking
  use mpi
  implicit none
  integer, parameter :: nb = 40, bl = 2, st = 5, span = (nb - 1)*st + bl
  double precision :: src(span), want(span), mine(span), both(2*span)
  integer(kind=MPI_ADDRESS_KIND) :: sdispls(2), rdispls(2)
  integer :: counts(2), types(2), adispls(2), zdispls(2), reqs(2), status(MPI_STATUS_SIZE)
  integer :: vtype, line, ring, rank, peer, ierr, i, j, failures, checks
  logical :: flag

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  peer = 1 - rank
  failures = 0
  checks = 0
  call MPI_Type_vector(nb, bl, st, MPI_DOUBLE_PRECISION, vtype, ierr)
  call MPI_Type_commit(vtype, ierr)
  do i = 1, span
    src(i) = dble(i) + 1000*rank
  end do
  want = 0
  mine = 0
  do i = 0, nb - 1
    do j = 1, bl
      want(i*st + j) = dble(i*st + j) + 1000*peer
      mine(i*st + j) = src(i*st + j)
    end do
  end do
  ! The argument arrays of a nonblocking collective must live until it completes.
  counts = 1
  types = vtype
  sdispls = 0
  rdispls = [0_MPI_ADDRESS_KIND, int(8*span, MPI_ADDRESS_KIND)]
  zdispls = 0
  adispls = [0, 8*span]

  ! A line of two ranks: rank 0's -1 neighbour and rank 1's +1 neighbour are MPI_PROC_NULL, and
  ! those halves stay zero.
  call MPI_Cart_create(MPI_COMM_WORLD, 1, [2], [.false.], .false., line, ierr)
  both = 0
  call MPI_Ineighbor_alltoallw(src, counts, sdispls, types, both, counts, rdispls, types, line, &
                               reqs(1), ierr)
  call MPI_Wait(reqs(1), status, ierr)
  call MPI_F_SYNC_REG(both)
  if (rank == 0) then
    call check('ineighbor line', all(both(1:span) == 0) .and. all(both(span + 1:) == want))
  else
    call check('ineighbor line', all(both(1:span) == want) .and. all(both(span + 1:) == 0))
  end if
  call MPI_Comm_free(line, ierr)

  ! A periodic ring of two ranks: both neighbours are the peer, and both halves get its vector.
  call MPI_Cart_create(MPI_COMM_WORLD, 1, [2], [.true.], .false., ring, ierr)
  both = 0
  call MPI_Ineighbor_alltoallw(src, counts, sdispls, types, both, counts, rdispls, types, ring, &
                               reqs(1), ierr)
  flag = .false.
  do while (.not. flag)
    call MPI_Test(reqs(1), flag, status, ierr)
  end do
  call MPI_F_SYNC_REG(both)
  call check('ineighbor ring', all(both(1:span) == want) .and. all(both(span + 1:) == want))
  call MPI_Comm_free(ring, ierr)

  ! Both ranks, itself included: half `peer + 1` holds the peer's vector, the other its own.
  both = 0
  reqs(2) = MPI_REQUEST_NULL
  call MPI_Ialltoallw(src, counts, zdispls, types, both, counts, adispls, types, MPI_COMM_WORLD, &
                      reqs(1), ierr)
  call MPI_Waitall(2, reqs, MPI_STATUSES_IGNORE, ierr)
  call MPI_F_SYNC_REG(both)
  call check('ialltoallw', all(both(peer*span + 1:(peer + 1)*span) == want) .and. &
             all(both(rank*span + 1:(rank + 1)*span) == mine))

  call MPI_Type_free(vtype, ierr)
  if (failures == 0) then
    write (*, '(a,i0,a,i0,a)') 'fortran_nonblocking[', rank, ']: data ok (', checks, ' checks)'
  end if
  flush (6)
  call MPI_Finalize(ierr)
  if (failures /= 0) stop 1

contains

  subroutine check(what, ok)
    character(*), intent(in) :: what
    logical, intent(in) :: ok
    checks = checks + 1
    if (.not. ok) then
      write (*, '(a,i0,2a)') 'fortran_nonblocking[', rank, ']: wrong data after ', what
      failures = failures + 1
    end if
  end subroutine check
end program fortran_nonblocking
