// Stripe's Payment Element in setup mode (saving a card for an off-session charge at the deadline),
// and on-session 3-D Secure for a PaymentIntent that needed authentication. Loaded only when Stripe
// keys are configured; the sandbox needs no JavaScript.
document.addEventListener("DOMContentLoaded", () => {
  if (typeof Stripe === "undefined") return;
  const pledgeForm = document.getElementById("pledge-form");
  const authForm = document.getElementById("authenticate-form");
  const errors = document.getElementById("payment-errors");
  const form = pledgeForm || authForm;
  if (!form || !form.dataset.stripeKey) return;
  const stripe = Stripe(form.dataset.stripeKey);
  const clientSecret = form.dataset.clientSecret;
  if (pledgeForm) {
    const elements = stripe.elements({ clientSecret });
    elements.create("payment").mount("#payment-element");
    pledgeForm.addEventListener("submit", async (event) => {
      if (document.getElementById("setup_intent").value) return;
      event.preventDefault();
      const { setupIntent, error } = await stripe.confirmSetup({ elements, redirect: "if_required" });
      if (error) { errors.textContent = error.message; return; }
      document.getElementById("setup_intent").value = setupIntent.id;
      pledgeForm.submit();
    });
  } else {
    authForm.addEventListener("submit", async (event) => {
      if (authForm.dataset.done) return;
      event.preventDefault();
      const { error } = await stripe.handleNextAction({ clientSecret });
      if (error) { errors.textContent = error.message; return; }
      authForm.dataset.done = "1";
      authForm.submit();
    });
  }
});
