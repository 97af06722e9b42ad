! A plain Fortran MPI program (`use mpi`) for two ranks that knows nothing of Strider. Every
! transfer moves one vector(40, 2, 5, double precision) between the ranks through the MPI_*
! calls, which Strider intercepts when preloaded, and the result is compared word for word with
! the same vector moved by the underlying MPI (PMPI_Sendrecv, PMPI_Pack, PMPI_Sendrecv_replace).
! Covered: Type_commit, Type_dup (no commit of its own), Send/Recv, Sendrecv, Isend/Irecv with
! Waitall, Issend with Waitany, persistent requests with Startall and Testall, Test,
! Waitsome, Testsome, Mprobe with Mrecv and Imrecv, Sendrecv_replace, Pack/Unpack/Pack_size,
! Cancel, Request_get_status, Neighbor_alltoallw (against PMPI_Neighbor_alltoallw),
! Alltoallw, also in place (against PMPI_Alltoallw) and Type_free. Prints "fortran[R]: data ok (N checks)" or what
! differed.
program fortran_exchange
  use mpi
  implicit none
  integer, parameter :: nb = 40, bl = 2, st = 5, span = (nb - 1)*st + bl
  double precision :: src(span), got(span), ref(span), buf(span), ref_replace(span)
  double precision :: packed(nb*bl), native_packed(nb*bl), both(2*span), native_both(2*span)
  integer(kind=MPI_ADDRESS_KIND) :: sdispls(2), rdispls(2)
  integer :: cart, counts(2), stypes(2), rtypes(2), adispls(2)
  integer :: vtype, dtype, rank, peer, ierr, i, round, idx, outcount, done, cnt, pos, msg
  integer :: failures, checks
  integer :: status(MPI_STATUS_SIZE), statuses(MPI_STATUS_SIZE, 2), reqs(2), indices(2)
  logical :: flag, seen(2)

  call MPI_Init(ierr)
  call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
  peer = 1 - rank
  failures = 0
  checks = 0
  call MPI_Type_vector(nb, bl, st, MPI_DOUBLE_PRECISION, vtype, ierr)
  call MPI_Type_commit(vtype, ierr)
  call MPI_Type_dup(vtype, dtype, ierr)
  do i = 1, span
    src(i) = dble(i) + 0.25d0
  end do
  ! The oracle: the vector moved by the underlying MPI, holes left zero.
  ref = 0
  call PMPI_Sendrecv(src, 1, vtype, peer, 100, ref, 1, vtype, peer, 100, MPI_COMM_WORLD, &
                     status, ierr)

  ! Blocking send and receive; the status names the sender, the tag and one element.
  got = 0
  if (rank == 0) then
    call MPI_Send(src, 1, dtype, 1, 1, MPI_COMM_WORLD, ierr)
  else
    call MPI_Recv(got, 1, vtype, 0, 1, MPI_COMM_WORLD, status, ierr)
    call check_data('send/recv', got)
    call MPI_Get_count(status, vtype, cnt, ierr)
    call expect('recv status', status(MPI_SOURCE) == 0 .and. status(MPI_TAG) == 1 .and. cnt == 1)
  end if

  got = 0
  call MPI_Sendrecv(src, 1, dtype, peer, 2, got, 1, vtype, peer, 2, MPI_COMM_WORLD, status, ierr)
  call check_data('sendrecv', got)
  call expect('sendrecv status', status(MPI_SOURCE) == peer .and. status(MPI_TAG) == 2)

  call post_pair(3)
  call MPI_Waitall(2, reqs, statuses, ierr)
  call check_data('isend/irecv/waitall', got)
  call expect('waitall statuses', statuses(MPI_SOURCE, 1) == peer .and. statuses(MPI_TAG, 1) == 3)
  call expect('waitall requests', all(reqs == MPI_REQUEST_NULL))

  ! Waitany returns 1-based indices, then MPI_UNDEFINED once nothing is active.
  got = 0
  seen = .false.
  call MPI_Irecv(got, 1, vtype, peer, 4, MPI_COMM_WORLD, reqs(1), ierr)
  call MPI_Issend(src, 1, vtype, peer, 4, MPI_COMM_WORLD, reqs(2), ierr)
  do round = 1, 2
    call MPI_Waitany(2, reqs, idx, status, ierr)
    if (idx >= 1 .and. idx <= 2) seen(idx) = .true.
    if (idx == 1) call expect('waitany status', status(MPI_SOURCE) == peer .and. status(MPI_TAG) == 4)
  end do
  call MPI_Waitany(2, reqs, idx, status, ierr)
  call expect('waitany indices', all(seen) .and. idx == MPI_UNDEFINED)
  call check_data('issend/waitany', got)

  ! Persistent requests, started twice. `got` is not an argument of the calls that fill it, so
  ! MPI_F_SYNC_REG keeps the compiler from holding it in registers across them.
  call MPI_Recv_init(got, 1, vtype, peer, 5, MPI_COMM_WORLD, reqs(1), ierr)
  call MPI_Send_init(src, 1, dtype, peer, 5, MPI_COMM_WORLD, reqs(2), ierr)
  do round = 1, 2
    got = 0
    call MPI_F_SYNC_REG(got)
    call MPI_Startall(2, reqs, ierr)
    flag = .false.
    do while (.not. flag)
      call MPI_Testall(2, reqs, flag, MPI_STATUSES_IGNORE, ierr)
    end do
    call MPI_F_SYNC_REG(got)
    call check_data('persistent/startall/testall', got)
  end do
  call MPI_Request_free(reqs(1), ierr)
  call MPI_Request_free(reqs(2), ierr)
  call expect('request_free', all(reqs == MPI_REQUEST_NULL))

  call post_pair(6)
  flag = .false.
  do while (.not. flag)
    call MPI_Test(reqs(1), flag, status, ierr)
  end do
  call MPI_Wait(reqs(2), MPI_STATUS_IGNORE, ierr)
  call check_data('test', got)
  call expect('test status', status(MPI_TAG) == 6 .and. reqs(1) == MPI_REQUEST_NULL)

  ! Waitsome and Testsome: every index once, 1-based.
  do round = 1, 2
    seen = .false.
    call post_pair(6 + round)
    done = 0
    do while (done < 2)
      if (round == 1) then
        call MPI_Waitsome(2, reqs, outcount, indices, statuses, ierr)
      else
        call MPI_Testsome(2, reqs, outcount, indices, statuses, ierr)
      end if
      do i = 1, outcount
        if (indices(i) >= 1 .and. indices(i) <= 2) seen(indices(i)) = .true.
        if (indices(i) == 1) call expect('some status', statuses(MPI_TAG, i) == 6 + round)
      end do
      done = done + outcount
    end do
    call check_data('waitsome/testsome', got)
    call expect('some indices', all(seen))
  end do

  ! Matched receives: the message handle is consumed.
  if (rank == 0) then
    call MPI_Send(src, 1, dtype, 1, 9, MPI_COMM_WORLD, ierr)
    call MPI_Send(src, 1, dtype, 1, 10, MPI_COMM_WORLD, ierr)
  else
    got = 0
    call MPI_Mprobe(0, 9, MPI_COMM_WORLD, msg, status, ierr)
    call MPI_Mrecv(got, 1, vtype, msg, status, ierr)
    call check_data('mrecv', got)
    call expect('mrecv message', msg == MPI_MESSAGE_NULL .and. status(MPI_TAG) == 9)
    got = 0
    call MPI_Mprobe(0, 10, MPI_COMM_WORLD, msg, status, ierr)
    call MPI_Imrecv(got, 1, vtype, msg, reqs(1), ierr)
    call MPI_Wait(reqs(1), status, ierr)
    call check_data('imrecv', got)
  end if

  ! Sendrecv_replace against the underlying MPI's, on rank-dependent data.
  buf = src*(rank + 1)
  ref_replace = buf
  call PMPI_Sendrecv_replace(ref_replace, 1, vtype, peer, 111, peer, 111, MPI_COMM_WORLD, &
                             status, ierr)
  call MPI_Sendrecv_replace(buf, 1, dtype, peer, 11, peer, 11, MPI_COMM_WORLD, status, ierr)
  checks = checks + 1
  if (any(buf /= ref_replace)) call fail('sendrecv_replace')

  ! Pack and unpack against PMPI_Pack.
  call MPI_Pack_size(1, dtype, MPI_COMM_WORLD, cnt, ierr)
  call expect('pack_size', cnt == 8*nb*bl)
  packed = 0
  native_packed = 0
  pos = 0
  call MPI_Pack(src, 1, dtype, packed, 8*nb*bl, pos, MPI_COMM_WORLD, ierr)
  call expect('pack position', pos == 8*nb*bl)
  pos = 0
  call PMPI_Pack(src, 1, vtype, native_packed, 8*nb*bl, pos, MPI_COMM_WORLD, ierr)
  checks = checks + 1
  if (any(packed /= native_packed)) call fail('pack')
  got = 0
  pos = 0
  call MPI_Unpack(packed, 8*nb*bl, pos, got, 1, dtype, MPI_COMM_WORLD, ierr)
  call check_data('unpack', got)

  ! A cancelled receive completes with the status saying so.
  call MPI_Irecv(got, 1, vtype, peer, 99, MPI_COMM_WORLD, reqs(1), ierr)
  call MPI_Cancel(reqs(1), ierr)
  call MPI_Wait(reqs(1), status, ierr)
  call MPI_Test_cancelled(status, flag, ierr)
  call expect('cancel', flag)

  call post_pair(12)
  flag = .false.
  do while (.not. flag)
    call MPI_Request_get_status(reqs(1), flag, status, ierr)
  end do
  call MPI_Waitall(2, reqs, MPI_STATUSES_IGNORE, ierr)
  call check_data('request_get_status', got)

  ! A periodic ring of two ranks: both neighbours are the peer; each half of `both` receives
  ! one of its messages.
  call MPI_Cart_create(MPI_COMM_WORLD, 1, [2], [.true.], .false., cart, ierr)
  counts = 1
  sdispls = 0
  rdispls = [0_MPI_ADDRESS_KIND, int(8*span, MPI_ADDRESS_KIND)]
  stypes = dtype
  rtypes = vtype
  native_both = 0
  both = 0
  call PMPI_Neighbor_alltoallw(src, counts, sdispls, stypes, native_both, counts, rdispls, rtypes, &
                               cart, ierr)
  call MPI_Neighbor_alltoallw(src, counts, sdispls, stypes, both, counts, rdispls, rtypes, cart, ierr)
  checks = checks + 1
  if (any(both /= native_both)) call fail('neighbor_alltoallw')
  call check_data('neighbor_alltoallw half', both(span + 1:))
  call MPI_Comm_free(cart, ierr)

  ! MPI_Alltoallw over both ranks (byte displacements): each rank sends its vector to itself
  ! and to the peer, each half of `both` receives one of them. Then in place, where the
  ! halves are sent from and received into as vectors.
  adispls = [0, 8*span]
  native_both = 0
  both = 0
  call PMPI_Alltoallw(src, counts, [0, 0], stypes, native_both, counts, adispls, rtypes, &
                      MPI_COMM_WORLD, ierr)
  call MPI_Alltoallw(src, counts, [0, 0], stypes, both, counts, adispls, rtypes, MPI_COMM_WORLD, ierr)
  checks = checks + 1
  if (any(both /= native_both)) call fail('alltoallw')
  call check_data('alltoallw from the peer', both(peer*span + 1:(peer + 1)*span))
  native_both(1:span) = src
  native_both(span + 1:) = src + 1000
  both = native_both
  call PMPI_Alltoallw(MPI_IN_PLACE, counts, adispls, rtypes, native_both, counts, adispls, rtypes, &
                      MPI_COMM_WORLD, ierr)
  call MPI_Alltoallw(MPI_IN_PLACE, counts, adispls, rtypes, both, counts, adispls, rtypes, &
                     MPI_COMM_WORLD, ierr)
  checks = checks + 1
  if (any(both /= native_both)) call fail('alltoallw in place')

  call MPI_Type_free(dtype, ierr)
  call MPI_Type_free(vtype, ierr)
  call expect('type_free', dtype == MPI_DATATYPE_NULL .and. vtype == MPI_DATATYPE_NULL)
  if (failures == 0) then
    write (*, '(a,i0,a,i0,a)') 'fortran[', rank, ']: data ok (', checks, ' checks)'
  end if
  flush (6)
  call MPI_Finalize(ierr)
  if (failures /= 0) stop 1

contains

  ! reqs(1): a receive of the peer's vector into a zeroed `got`; reqs(2): the send of `src`
  ! as the dup.
  subroutine post_pair(tag)
    integer, intent(in) :: tag
    got = 0
    call MPI_Irecv(got, 1, vtype, peer, tag, MPI_COMM_WORLD, reqs(1), ierr)
    call MPI_Isend(src, 1, dtype, peer, tag, MPI_COMM_WORLD, reqs(2), ierr)
  end subroutine post_pair

  subroutine fail(what)
    character(*), intent(in) :: what
    write (*, '(a,i0,a,a)') 'fortran[', rank, ']: differs: ', what
    failures = failures + 1
  end subroutine fail

  subroutine check_data(what, data)
    character(*), intent(in) :: what
    double precision, intent(in) :: data(span)
    checks = checks + 1
    if (any(data /= ref)) call fail(what)
  end subroutine check_data

  subroutine expect(what, ok)
    character(*), intent(in) :: what
    logical, intent(in) :: ok
    checks = checks + 1
    if (.not. ok) call fail(what)
  end subroutine expect

end program fortran_exchange
