! strider-demo-halo-fortran: a Fortran halo exchange, the way Fortran codes write one. A plain MPI
! program (`use mpi`): it runs unchanged with or without libstrider.so preloaded.
!
!   mpiexec -n R strider-demo-halo-fortran [N [REPS]]
!
! Each rank owns an N^3 block of doubles with a one-cell halo, a(0:N+1, 0:N+1, 0:N+1), in a
! periodic ring of R ranks along x (MPI_Cart_create, MPI_Cart_shift). One exchange sends both
! interior x-faces (N*N doubles, one 8-byte element every (N+2)*8 bytes) to the two neighbours and
! receives their faces into the halo planes: MPI_Irecv/MPI_Isend of Fortran-order
! MPI_Type_create_subarray types, then MPI_Waitall. After every exchange each received halo cell
! is checked against the value its owner stored (outside the timed region). Prints one line:
!   RESULT example=halo_fortran n=64 ranks=2 reps=500 median_us=25.31 verified=yes
! and stops with status 1 when any cell was wrong.
program halo_fortran
  use mpi
  implicit none
  integer :: n, reps, rank, nranks, cart, left, right, ierr, r, j, k, wrong
  integer :: sizes(3), face(3), send_lo, send_hi, recv_lo, recv_hi, reqs(4)
  character(len=32) :: arg
  double precision, allocatable :: a(:, :, :), t(:)
  double precision :: t0

  call MPI_Init(ierr)
  n = 64
  reps = 500
  if (command_argument_count() >= 1) then
    call get_command_argument(1, arg)
    read (arg, *) n
  end if
  if (command_argument_count() >= 2) then
    call get_command_argument(2, arg)
    read (arg, *) reps
  end if
  call MPI_Comm_size(MPI_COMM_WORLD, nranks, ierr)
  call MPI_Cart_create(MPI_COMM_WORLD, 1, [nranks], [.true.], .false., cart, ierr)
  call MPI_Comm_rank(cart, rank, ierr)
  call MPI_Cart_shift(cart, 0, 1, left, right, ierr)

  allocate (a(0:n + 1, 0:n + 1, 0:n + 1), t(reps))
  sizes = [n + 2, n + 2, n + 2]
  face = [1, n, n]
  send_lo = subarray_at(1)      ! the first interior x-plane, to the left neighbour
  send_hi = subarray_at(n)      ! the last interior x-plane, to the right neighbour
  recv_lo = subarray_at(0)      ! the left halo plane, from the left neighbour
  recv_hi = subarray_at(n + 1)  ! the right halo plane, from the right neighbour

  wrong = 0
  do r = 1, reps
    call fill(r)
    call MPI_Barrier(cart, ierr)
    t0 = MPI_Wtime()
    call MPI_Irecv(a, 1, recv_lo, left, 1, cart, reqs(1), ierr)
    call MPI_Irecv(a, 1, recv_hi, right, 2, cart, reqs(2), ierr)
    call MPI_Isend(a, 1, send_hi, right, 1, cart, reqs(3), ierr)
    call MPI_Isend(a, 1, send_lo, left, 2, cart, reqs(4), ierr)
    call MPI_Waitall(4, reqs, MPI_STATUSES_IGNORE, ierr)
    t(r) = MPI_Wtime() - t0
    do k = 1, n
      do j = 1, n
        if (a(0, j, k) /= value(left, n, j, k, r)) wrong = wrong + 1
        if (a(n + 1, j, k) /= value(right, 1, j, k, r)) wrong = wrong + 1
      end do
    end do
  end do

  call MPI_Allreduce(MPI_IN_PLACE, wrong, 1, MPI_INTEGER, MPI_SUM, cart, ierr)
  call MPI_Allreduce(MPI_IN_PLACE, t, reps, MPI_DOUBLE_PRECISION, MPI_MAX, cart, ierr)
  if (rank == 0) then
    write (*, '(a,i0,a,i0,a,i0,a,f0.2,a,a)') 'RESULT example=halo_fortran n=', n, ' ranks=', &
      nranks, ' reps=', reps, ' median_us=', median(t)*1d6, ' verified=', &
      merge('yes', 'no ', wrong == 0)
  end if
  call MPI_Type_free(send_lo, ierr)
  call MPI_Type_free(send_hi, ierr)
  call MPI_Type_free(recv_lo, ierr)
  call MPI_Type_free(recv_hi, ierr)
  call MPI_Comm_free(cart, ierr)
  call MPI_Finalize(ierr)
  if (wrong /= 0) stop 1

contains

  ! The x-plane `x` of the local block as a committed datatype.
  function subarray_at(x) result(plane)
    integer, intent(in) :: x
    integer :: plane, e
    call MPI_Type_create_subarray(3, sizes, face, [x, 1, 1], MPI_ORDER_FORTRAN, &
                                  MPI_DOUBLE_PRECISION, plane, e)
    call MPI_Type_commit(plane, e)
  end function subarray_at

  ! What `owner` stores at (i, j, k) before exchange `round`: distinct per rank, cell and round.
  double precision function value(owner, i, j, k, round)
    integer, intent(in) :: owner, i, j, k, round
    value = dble(owner)*1d8 + dble(round)*1d6 + dble(i) + 1d2*j + 1d4*k
  end function value

  subroutine fill(round)
    integer, intent(in) :: round
    integer :: i, jj, kk
    do kk = 0, n + 1
      do jj = 0, n + 1
        do i = 0, n + 1
          a(i, jj, kk) = value(rank, i, jj, kk, round)
        end do
      end do
    end do
    a(0, :, :) = -1
    a(n + 1, :, :) = -1
  end subroutine fill

  double precision function median(x)
    double precision, intent(in) :: x(:)
    double precision :: s(size(x)), v
    integer :: i, m
    s = x
    do i = 2, size(s)  ! insertion sort: a few hundred entries
      v = s(i)
      m = i - 1
      do while (m >= 1)
        if (s(m) <= v) exit
        s(m + 1) = s(m)
        m = m - 1
      end do
      s(m + 1) = v
    end do
    median = s((size(s) + 1)/2)
  end function median

end program halo_fortran
